#!/usr/bin/env bash
# Set up, then search layer chains for 20 ARC-Easy test questions on the embedded SmolLM2-135M
# with the guided MCTS (search=guided) and with the random-chain control, each beside its placebo twin
# (the same search aimed at a wrong answer), and write a side-by-side report with intervals.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY="${COLA_VENV:-.venv}/bin/python"
LIMIT="${LIMIT:-20}"
MODEL="${MODEL:-smollm2}"  # or gemma3_270m, the second embedded model
OUT="outputs/quickstart/$MODEL"
for search in guided random; do
  "$PY" scripts/run_search.py model="$MODEL" benchmark=arc_easy search="$search" search.control=placebo \
    limit="$LIMIT" seed=0 \
    hydra.run.dir="$OUT/$search"
done
"$PY" scripts/report.py --out "$OUT/report" guided="$OUT/guided" random="$OUT/random"
