#!/usr/bin/env bash
# The label-free study's statistics files (docs/results/label_free/statistics/), every figure of its
# tables and of the README's label-free row, rebuilt from the committed test records: the
# calibration's records are recomputed from the full chain's (apply_calibration.py), then each
# model x split is tabled on the whole split and rows 500+ (tables.py policy --statistics), and so
# are the ARC-Easy chain ensembles. The tables land in $WORK (equal to the committed ones in
# docs/results/label_free/tables/).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-.venv/bin/python}"
DATA=docs/results/label_free
WORK="${WORK:-outputs/label_free_statistics}"
derived() {  # name the calibration's records by what they are derived from (outputs/ is not committed)
  "$PY" - "$@" <<'PYTHON'
import json, sys
statistics, work, data = sys.argv[1:4]
found = json.load(open(statistics))
def origin(path):
    if not path.startswith(work):
        return path
    model, benchmark = path[len(work) + 1 :].split("/")[0].split("-", 1)
    return {
        "derived_by": "scripts/studies/apply_calibration.py",
        "policy": f"{data}/{model}/policies/arc_easy-{model}-calibration.safetensors",
        "full_chain": f"{data}/{model}/test/full_chain-{benchmark}.jsonl.gz",
    }
found["records"] = {
    name: [origin(p) for p in paths] if isinstance(paths, list) else origin(paths)
    for name, paths in found["records"].items()
}
json.dump(found, open(statistics, "w"), indent=1)
open(statistics, "a").write("\n")
PYTHON
}
unpack() {  # a committed records file as a run folder: unpack RECORDS_STEM FOLDER
  mkdir -p "$2"
  zcat "$1.jsonl.gz" > "$2/results.jsonl"
  cp "$1.run_settings.json" "$2/run_settings.json"
}
for model in smollm2 gemma3_270m; do
  for benchmark in arc_easy arc_challenge; do
    test="$DATA/$model/test" cell="$WORK/$model-$benchmark"
    unpack "$test/full_chain-$benchmark" "$cell/full"
    "$PY" scripts/studies/apply_calibration.py "$DATA/$model/policies/arc_easy-$model-calibration.safetensors" \
      "$cell/full" --out "$cell/calibration" > /dev/null
    runs=("full chain=$test/full_chain-$benchmark.jsonl.gz")
    [ -f "$test/static_chain-$benchmark.jsonl.gz" ] && runs+=("static chain=$test/static_chain-$benchmark.jsonl.gz")
    runs+=("router=$test/router-$benchmark.jsonl.gz" "calibration=$cell/calibration")
    "$PY" scripts/tables.py policy "${runs[@]}" --full "full chain" --rival calibration \
      --statistics "$DATA/statistics/$model-$benchmark.json" > "$cell/table.md"
    derived "$DATA/statistics/$model-$benchmark.json" "$WORK" "$DATA"
  done
done
# the chain ensembles (the first 1,000 ARC-Easy test rows) beside the full chain and the calibration
for model in smollm2 gemma3_270m; do
  test="$DATA/$model/test" cell="$WORK/$model-arc_easy"
  "$PY" scripts/tables.py policy "full chain=$test/full_chain-arc_easy.jsonl.gz" \
    "top8=$test/top8-arc_easy.jsonl.gz" "random8=$test/random8-arc_easy.jsonl.gz" "calibration=$cell/calibration" \
    --full "full chain" --rival calibration --statistics "$DATA/statistics/$model-arc_easy-ensembles.json" \
    > "$WORK/$model-arc_easy-ensembles.md"
  derived "$DATA/statistics/$model-arc_easy-ensembles.json" "$WORK" "$DATA"
done
# the calibration against the full chain, pooled over the four cells
cells=()
for benchmark in arc_easy arc_challenge; do
  for model in smollm2 gemma3_270m; do
    name="$([ $model = smollm2 ] && echo SmolLM2 || echo Gemma) $([ $benchmark = arc_easy ] && echo ARC-Easy || echo ARC-Challenge)"
    cells+=("$name=$WORK/$model-$benchmark/calibration,$DATA/$model/test/full_chain-$benchmark.jsonl.gz")
  done
done
"$PY" scripts/studies/pooled_gain.py "${cells[@]}" --statistics "$DATA/statistics/calibration-pooled.json" \
  --out "$WORK/calibration-pooled.md" > /dev/null
derived "$DATA/statistics/calibration-pooled.json" "$WORK" "$DATA"
