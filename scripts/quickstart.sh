#!/usr/bin/env bash
# Set up, then search layer chains for 20 ARC-Easy test questions on an embedded model with the
# learned-prior MCTS (search=learned, SmolLM2 only: its prior was learned on SmolLM2's 30 layers),
# MCTS with the CoLa settings and the random-chain control, each beside its placebo twin (the same
# search aimed at a wrong answer), 50 chain evaluations each, and write a side-by-side report with
# intervals.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY="${COLA_VENV:-.venv}/bin/python"
LIMIT="${LIMIT:-20}"
MODEL="${MODEL:-smollm2}"  # or gemma3_270m, the second embedded model
OUT="outputs/quickstart/$MODEL"
SEARCHES=(learned mcts random)
[ "$MODEL" = smollm2 ] || SEARCHES=(mcts random)
runs=()
for search in "${SEARCHES[@]}"; do
  "$PY" scripts/run_search.py model="$MODEL" benchmark=arc_easy search="$search" search.control=placebo \
    search.simulations=50 limit="$LIMIT" seed=0 \
    hydra.run.dir="$OUT/$search"
  runs+=("$search=$OUT/$search")
done
"$PY" scripts/report.py --out "$OUT/report" "${runs[@]}"
