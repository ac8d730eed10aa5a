"""Compare search runs side by side in one report (table + plots of the first run).

    python scripts/report.py --out reports/arc_easy mcts=outputs/search/.../mcts-seed0-n50 \
        random=outputs/search/.../random-seed0-n50 greedy=outputs/search/.../greedy-seed0-n50

With --common, every run is read on the samples all of them hold (say, 200-question runs beside
the first 200 questions of 500-question runs), so every table compares the same samples.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.reports.search_report import write_report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "runs",
        nargs="+",
        help="NAME=RUN_DIR (or NAME=records.jsonl[.gz], as committed); the first is plotted",
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--common", action="store_true", help="only the samples every run holds")
    args = parser.parse_args()
    runs = {}
    for item in args.runs:
        name, sep, path = item.partition("=")
        if not sep or not (Path(path, "results.jsonl").is_file() or Path(path).is_file()):
            raise SystemExit(
                f"expected NAME=RUN_DIR with a results.jsonl inside, or NAME=RECORDS_FILE, got {item!r}"
            )
        runs[name] = Path(path)
    report = write_report(runs, args.out, common=args.common)
    print(report.read_text().split("\n\n")[1])
    print(f"report: {report}")


def run() -> None:
    """The console command (``cola-report``) and the script's entry."""
    main()
