"""Compare search runs side by side in one report (table + plots of the first run).

    python scripts/report.py --out reports/arc_easy mcts=outputs/search/.../mcts-seed0-n50 \
        random=outputs/search/.../random-seed0-n50 greedy=outputs/search/.../greedy-seed0-n50

With --common, every run is read on the samples all of them hold (say, 200-question runs beside
the first 200 questions of 500-question runs), so every table compares the same samples.
"""

from benchmarks.cli.report import run

if __name__ == "__main__":
    run()
