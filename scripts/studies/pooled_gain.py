"""One policy against another, cell by cell (model x split) and pooled over the cells, on the whole
split, the development rows and rows 500+: the pooled figure is clustered by question (the models
share questions: a question's pairs in every cell are resampled together).

    python scripts/studies/pooled_gain.py "SmolLM2 ARC-Easy=outputs/calibration,outputs/full" \
        "Gemma ARC-Easy=outputs/gemma-calibration,outputs/gemma-full" --out table.md

Each CELL=FIRST,SECOND names two scripts/evaluate.py runs (folders or records files) of the same
questions: the policy and what it is compared with.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.analysis.policy_gains import pooled_rows
from benchmarks.reports.policy_table import pooled_markdown
from benchmarks.results import load_records
from benchmarks.runs.session import emit_table, named_value


def named_pair(text: str) -> tuple[str, tuple[Path, Path]]:
    name, paths = named_value(text, "CELL=FIRST,SECOND")
    first, comma, second = paths.partition(",")
    if not comma:
        raise argparse.ArgumentTypeError(f"expected CELL=FIRST,SECOND, got {text!r}")
    return name, (Path(first), Path(second))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("cells", nargs="+", type=named_pair, help="CELL=FIRST,SECOND")
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this file")
    parser.add_argument(
        "--statistics", type=Path, default=None, help="also write every figure as a statistics file (JSON)"
    )
    args = parser.parse_args()
    try:
        cells = {name: (load_records(first), load_records(second)) for name, (first, second) in args.cells}
        emit_table(pooled_markdown(cells), args.out)
        if args.statistics is not None:
            found = pooled_rows(cells) | {
                "records": {name: [str(first), str(second)] for name, (first, second) in args.cells}
            }
            args.statistics.parent.mkdir(parents=True, exist_ok=True)
            args.statistics.write_text(json.dumps(found, indent=1) + "\n")
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None


if __name__ == "__main__":
    main()
