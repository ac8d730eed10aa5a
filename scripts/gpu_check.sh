#!/usr/bin/env bash
# The GPU check, prepared for a lent machine (at most 5 minutes on one GPU): the composer contract,
# the engine's lanes and speculative decoding on CUDA in float32 and bfloat16 against independent
# paths, and the engine against naive decoding on a Qwen 2.5 7B shape, written to docs/results/gpu/.
# Models are built from configs (no weights travel). Uses .venv when present, else the machine's
# python (torch and transformers installed there).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${COLA_VENV:-.venv}/bin/python"
[ -x "$PY" ] || PY=python3
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
timeout 300 "$PY" scripts/device_check.py --device "${DEVICE:-cuda}" --out docs/results/gpu "$@"
