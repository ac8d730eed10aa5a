"""Tabulate a confidence cascade: a draft policy's answer where its choice margin reaches a level,
else the full chain's (both from scripts/evaluate.py runs on the same questions; no answer key).
Then the draft's agreement by the full chain's own margin.

    python scripts/cascade_table.py outputs/router/validation outputs/full/validation \
        --levels 0 0.2 0.5 0.8 --out table.md

Each run is a scripts/evaluate.py run directory (or its results.jsonl, .jsonl.gz).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.experiments.cascade import (
    agreement_by_full_margin,
    cascade_markdown,
    cascade_rows,
    full_margin_markdown,
)
from benchmarks.experiments.search_summary import load_records
from benchmarks.experiments.session import emit_table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("draft", type=Path, help="the draft policy's evaluate.py run")
    parser.add_argument("full", type=Path, help="the full chain's evaluate.py run")
    parser.add_argument("--levels", nargs="+", type=float, default=[0.0, 0.2, 0.4, 0.6, 0.8, 0.9])
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this file")
    args = parser.parse_args()
    try:
        draft, full = load_records(args.draft), load_records(args.full)
        table = cascade_markdown(cascade_rows(draft, full, args.levels))
        table += "\n" + full_margin_markdown(agreement_by_full_margin(draft, full))
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    emit_table(table, args.out)


if __name__ == "__main__":
    main()
