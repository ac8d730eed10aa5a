"""Tabulate label-free policies against the full chain and the best calibration, paired on the
questions every run answered.

    python scripts/policy_table.py "full chain=outputs/full/test" static=outputs/static/test \
        calibration=outputs/calibration/test --full "full chain" --rival calibration --out table.md

Each NAME=PATH is a scripts/evaluate.py run directory (or its results.jsonl, .jsonl.gz). The table
is printed for the rows every run answered and again for rows 500 and later of the split (the rows
never used in development), each with its own Holm; ``--whole-only`` prints the first alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.experiments.policy_table import policy_markdown, policy_rows, sliced_markdown
from benchmarks.experiments.search_summary import load_records
from benchmarks.experiments.session import emit_table, named_path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", type=named_path, help="NAME=PATH of an evaluate.py run")
    parser.add_argument("--full", required=True, help="the NAME of the full chain's run")
    parser.add_argument("--rival", default=None, help="the NAME of the best calibration's run")
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this file")
    parser.add_argument(
        "--whole-only", action="store_true", help="one table on the shared rows, without the rows-500+ table"
    )
    args = parser.parse_args()
    runs = dict(args.runs)
    for name in filter(None, (args.full, args.rival)):
        if name not in runs:
            raise SystemExit(f"error: no run named {name!r}; the runs are {', '.join(runs)}")
    try:
        records = {name: load_records(path) for name, path in runs.items()}
        table = (
            policy_markdown(
                policy_rows(records, full=args.full, rival=args.rival), full=args.full, rival=args.rival
            )
            if args.whole_only
            else sliced_markdown(records, full=args.full, rival=args.rival)
        )
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    emit_table(table, args.out)


if __name__ == "__main__":
    main()
