"""Write the records of a slice of split rows (by position in the split's file) as a committed
records file, with the run's settings beside it.

    python scripts/studies/rows_slice.py outputs/fresh/gemma3_270m/random --first 500 --last 1000 \
        --out docs/results/own_tries/gemma3_270m/records/random-rows500.jsonl.gz
    python scripts/studies/rows_slice.py outputs/exits/smollm2/arc_easy-test-shard0 \
        outputs/exits/smollm2/arc_easy-test-shard1 --first 0 --out records/smollm2-arc_easy-test.jsonl.gz

A run is a run directory or merged shards' folder (results.jsonl and run_settings.json inside);
several runs are the shards of one run (``--shard i/n``), merged in row order, their settings equal
but for the shard index (written as the list of shards merged).
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

from benchmarks.analysis.fresh_rows import in_rows, row_positions
from benchmarks.results import load_records, shard_settings


def merged_settings(runs: list[Path]) -> dict:
    """The runs' settings, one run's as they are; shards' with their shard indices listed."""
    if len(runs) == 1:
        path = runs[0] / "run_settings.json"
        if not path.is_file():
            raise FileNotFoundError(f"no run_settings.json in {runs[0]}")
        return json.loads(path.read_text())
    common, indices, count = shard_settings(runs)
    if "run" not in common or None in indices:
        raise ValueError("runs merged as shards must each record their shard_index under 'run'")
    if sorted(indices) != list(range(count)):
        raise ValueError(f"shards {sorted(indices)} are not all {count} shards of one run")
    return common | {"run": common["run"] | {"shard_index": sorted(indices), "shard_count": count}}


def split_size(record: dict, settings: dict) -> int | None:
    """The number of rows in the records' split (None where neither names it)."""
    task = settings.get("task", {})
    benchmark, split = record.get("benchmark", task.get("benchmark")), record.get("split", task.get("split"))
    return len(row_positions(benchmark, split)) if benchmark and split else None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "runs", nargs="+", type=Path, help="run directories with results.jsonl and run_settings.json"
    )
    parser.add_argument("--first", type=int, required=True, help="the first row, counted from 0")
    parser.add_argument("--last", type=int, default=None, help="one past the last row (default: the end)")
    parser.add_argument("--out", type=Path, required=True, help="records file to write (.jsonl.gz)")
    args = parser.parse_args()
    try:
        settings = merged_settings(args.runs)
        records = in_rows([r for run in args.runs for r in load_records(run)], args.first, args.last)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    where = ", ".join(str(run) for run in args.runs)
    if not records:
        raise SystemExit(f"error: {where} holds no record of rows {args.first} to {args.last}")
    last = args.last if args.last is not None else split_size(records[0], settings)
    if len({record["id"] for record in records}) != len(records):
        raise SystemExit(f"error: {where} holds a question twice (overlapping shards?)")
    if last is not None and len(records) != last - args.first:
        raise SystemExit(
            f"error: {where} holds {len(records)} of the {last - args.first} rows {args.first} to {last}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(args.out, "wt") as handle:
        handle.writelines(json.dumps(record) + "\n" for record in records)
    settings_out = args.out.with_name(args.out.name.removesuffix(".jsonl.gz") + ".run_settings.json")
    settings_out.write_text(json.dumps(settings, indent=1) + "\n")
    print(f"{len(records)} records of rows {args.first} to {args.last} -> {args.out}")


if __name__ == "__main__":
    main()
