"""Compare orders of single edits on a validation scan, held-out questions only (no model runs).

python scripts/compare_edit_orders.py outputs/val/scan_all
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.experiments.edit_orders import compare_orders
from benchmarks.results import ResultsLog


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", type=Path, help="the scan's run directory (results.jsonl inside)")
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    results = args.run / "results.jsonl"
    if not results.is_file():
        raise SystemExit(f"error: no results.jsonl in {args.run}")
    if json.loads((args.run / "run_settings.json").read_text())["task"]["split"] == "test":
        raise SystemExit("error: compare orders on a validation (or train) split, never on test")
    budgets = (10, 25, 50)
    table = compare_orders(ResultsLog(results).records, budgets, args.splits, args.seed)
    print("order   " + "  ".join(f"within {b:>2}" for b in budgets))
    for name, by_budget in table.items():
        print(f"{name:<7} " + "  ".join(f"{by_budget[b]:>9.3f}" for b in budgets))


if __name__ == "__main__":
    main()
