"""Merge shard runs of scripts/run_search.py into one results.jsonl, summary.json and report.md.

    python scripts/merge_shards.py multirun/search/arc_easy-loglikelihood/mcts-seed0-n20 [--out DIR]

The folder's shard*/ subfolders are merged (or pass shard folders explicitly).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.analysis.search_summary import merge_shards, shard_folders
from benchmarks.reports.search_report import write_report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="+", type=Path, help="a multirun folder, or shard folders")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <folder>/merged)")
    args = parser.parse_args()
    shards = shard_folders(args.paths[0]) if len(args.paths) == 1 else args.paths
    if not shards:
        raise SystemExit(f"no shard folders found under {args.paths[0]}")
    out = args.out or (args.paths[0] / "merged" if len(args.paths) == 1 else Path("merged"))
    summary = merge_shards(shards, out)
    report = write_report({summary["search"] or "search": out}, out)
    print(json.dumps({k: v for k, v in summary.items() if k != "shards"}, indent=2))
    print(f"report: {report}")


if __name__ == "__main__":
    main()
