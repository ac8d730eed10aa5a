"""Tabulate evaluation runs (scripts/evaluate.py run directories) as one markdown table.

python scripts/accuracy_table.py outputs/full_chain/*/ --out docs/results/full_chain/accuracy.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.experiments.evaluate import accuracy_table
from benchmarks.experiments.session import emit_table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", type=Path, help="evaluation run directories (summary.json inside)")
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this file")
    args = parser.parse_args()
    missing = [str(run) for run in args.runs if not (run / "summary.json").is_file()]
    if missing:
        raise SystemExit(f"no summary.json in {', '.join(missing)}: not an evaluation run, or not finished")
    table = accuracy_table([json.loads((run / "summary.json").read_text()) for run in args.runs])
    emit_table(table, args.out)


if __name__ == "__main__":
    main()
