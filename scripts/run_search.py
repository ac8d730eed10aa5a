"""Search layer chains per sample and write results, summary and report (Hydra entry point).

python scripts/run_search.py model=smollm2 benchmark=arc_easy search=mcts limit=20 seed=0
"""

from benchmarks.cli.search import run

if __name__ == "__main__":
    run()
