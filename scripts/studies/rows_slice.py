"""Write the records of a slice of split rows (by position in the split's file) as a committed
records file, with the run's settings beside it.

    python scripts/studies/rows_slice.py outputs/fresh/gemma3_270m/random --first 500 --last 1000 \
        --out docs/results/own_tries/gemma3_270m/records/random-rows500.jsonl.gz

The run may be a run directory or merged shards' folder (results.jsonl and run_settings.json inside).
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
from pathlib import Path

from benchmarks.analysis.fresh_rows import in_rows
from benchmarks.results import load_records


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", type=Path, help="a run directory with results.jsonl and run_settings.json")
    parser.add_argument("--first", type=int, required=True, help="the first row, counted from 0")
    parser.add_argument("--last", type=int, default=None, help="one past the last row (default: the end)")
    parser.add_argument("--out", type=Path, required=True, help="records file to write (.jsonl.gz)")
    args = parser.parse_args()
    settings = args.run / "run_settings.json"
    if not settings.is_file():
        raise SystemExit(f"error: no run_settings.json in {args.run}")
    records = in_rows(load_records(args.run), args.first, args.last)
    if not records:
        raise SystemExit(f"error: {args.run} holds no record of rows {args.first} to {args.last}")
    if args.last is not None and len(records) != args.last - args.first:
        raise SystemExit(
            f"error: {args.run} holds {len(records)} of the {args.last - args.first} rows {args.first} to {args.last}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(args.out, "wt") as handle:
        handle.writelines(json.dumps(record) + "\n" for record in records)
    shutil.copy(settings, args.out.with_name(args.out.name.removesuffix(".jsonl.gz") + ".run_settings.json"))
    print(f"{len(records)} records of rows {args.first} to {args.last} -> {args.out}")


if __name__ == "__main__":
    main()
