#!/usr/bin/env bash
# Set up, then run the whole test suite (fast tests and `slow` real-model tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec "${COLA_VENV:-.venv}/bin/python" -m pytest "$@"
