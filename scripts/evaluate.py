"""Evaluate a model under one chain on a benchmark (Hydra entry point).

python scripts/evaluate.py model=smollm2 benchmark=arc_easy limit=100 chain=0-9,9,10-29
python scripts/evaluate.py model=smollm2 benchmark=arc_easy policy=<a cola policy file>
"""

from benchmarks.cli.evaluate import run

if __name__ == "__main__":
    run()
