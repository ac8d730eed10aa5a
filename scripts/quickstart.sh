#!/usr/bin/env bash
# Set up, then run the audit's quick preset on an embedded model (scripts/audit.py audit=quick): the
# plan, then the full chain on 300 train, 100 validation and 40 ARC-Easy test questions; descent
# (with the edit prior learned on that model's validation questions), MCTS with the CoLa settings,
# random chains and the model's own tries (ranked, sampled, sampled at the temperature matched on
# validation), each beside its placebo twin, 50 chain evaluations each; the calibration fit on
# train; and audit.md with every row's intervals. Resumes if interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${COLA_VENV:-.venv}/bin/python"
MODEL="${MODEL:-smollm2}"  # or gemma3_270m, the second embedded model
case "$MODEL" in  # a prior is learned on one model's layers and refused on another's
  smollm2) PRIOR=conf/priors/arc_easy-smollm2-val570.json ;;
  gemma3_270m) PRIOR=conf/priors/arc_easy-gemma3_270m-val100-ranked.json ;;
  *) echo "error: no edit prior for MODEL=$MODEL; choose smollm2 or gemma3_270m" >&2; exit 2 ;;
esac
bash scripts/setup.sh
"$PY" scripts/audit.py audit=quick model="$MODEL" searches.descent.prior_file="$PRIOR" \
  hydra.run.dir="outputs/quickstart/$MODEL" "$@"
echo "report: outputs/quickstart/$MODEL/audit.md"
