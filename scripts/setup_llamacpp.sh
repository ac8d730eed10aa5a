#!/usr/bin/env bash
# The llamacpp extra: llama-cpp-python 0.3.36 builds llama.cpp from source (about 11 minutes on one
# core of the 2-core machine), so its wheel is kept in ~/.cache/cola/wheels and reused by later runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${COLA_VENV:-.venv}/bin/python"
WHEELS="${COLA_WHEELS:-$HOME/.cache/cola/wheels}"
VERSION=0.3.36
mkdir -p "$WHEELS"
if ! ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
  CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}" \
    "$PY" -m pip wheel --no-deps "llama-cpp-python==$VERSION" -w "$WHEELS"
fi
"$PY" -m pip install "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl
"$PY" -c "import llama_cpp; print('llama-cpp-python', llama_cpp.__version__)"
