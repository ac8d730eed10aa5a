"""Compare orders of single edits on a validation scan, held-out questions only (no model runs).

python scripts/studies/compare_edit_orders.py outputs/val/scan_all
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.learners.edit_orders import compare_orders
from benchmarks.learners.edit_prior import read_scan


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", type=Path, help="the scan's run directory (results.jsonl inside)")
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    budgets = (10, 25, 50)
    table = compare_orders(read_scan(args.run, "compare orders"), budgets, args.splits, args.seed)
    print("order   " + "  ".join(f"within {b:>2}" for b in budgets))
    for name, by_budget in table.items():
        print(f"{name:<7} " + "  ".join(f"{by_budget[b]:>9.3f}" for b in budgets))


if __name__ == "__main__":
    main()
