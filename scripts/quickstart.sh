#!/usr/bin/env bash
# Set up, then search layer chains for 20 ARC-Easy test questions on an embedded model with the
# project's best search (search=descent, with the edit prior learned on that model's validation
# questions), MCTS with the CoLa settings and the random-chain control, each beside its placebo
# twin (the same search aimed at a wrong answer), 50 chain evaluations each, and write a
# side-by-side report with intervals.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${COLA_VENV:-.venv}/bin/python"
LIMIT="${LIMIT:-20}"
MODEL="${MODEL:-smollm2}"  # or gemma3_270m, the second embedded model
OUT="outputs/quickstart/$MODEL"
case "$MODEL" in  # a prior is learned on one model's layers and refused on another's
  smollm2) PRIOR=conf/priors/arc_easy-smollm2-val570.json ;;
  gemma3_270m) PRIOR=conf/priors/arc_easy-gemma3_270m-val100-ranked.json ;;
  *) echo "error: no edit prior for MODEL=$MODEL; choose smollm2 or gemma3_270m" >&2; exit 2 ;;
esac
bash scripts/setup.sh
runs=()
for search in descent mcts random; do
  prior=()
  [ "$search" = descent ] && prior=(search.prior_file="$PRIOR")
  "$PY" scripts/run_search.py model="$MODEL" benchmark=arc_easy search="$search" search.control=placebo \
    "${prior[@]}" search.simulations=50 limit="$LIMIT" seed=0 \
    hydra.run.dir="$OUT/$search"
  runs+=("$search=$OUT/$search")
done
"$PY" scripts/report.py --out "$OUT/report" "${runs[@]}"
