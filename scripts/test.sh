#!/usr/bin/env bash
# Set up, then run the whole test suite (fast tests and `slow` real-model tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# One pytest worker per core (pytest-xdist), one torch thread each: about half the serial time.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
# worksteal: an idle worker takes queued tests from the busy one (the real-model tests are long).
exec "${COLA_VENV:-.venv}/bin/python" -m pytest -n "${COLA_TEST_WORKERS:-2}" --dist worksteal "$@"
