"""The unsteered-depth statistics file holds the very figures of its table, and the committed one
is what the committed records give."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.reports.unsteered_report import depth_statistics, depth_table
from benchmarks.results import load_records

ROOT = Path(__file__).resolve().parents[3]
FOLDER = ROOT / "docs/results/faithful/unsteered"


def test_the_statistics_are_the_tables_figures_and_the_committed_ones():
    committed = json.loads((FOLDER / "statistics.json").read_text())
    records = {name: load_records(ROOT / path) for name, path in committed.pop("records").items()}
    found = depth_statistics(records)
    assert json.loads(json.dumps(found)) == committed
    table = depth_table(records)
    for name, by_bound in found.items():
        for bound, by_set in by_bound.items():
            if not isinstance(by_set, dict):
                continue
            for set_name, targets in by_set.items():
                half = by_bound["n_layers"] // 2
                curves = [targets[t]["within"][:half] for t in ("faithful", "reach")]
                assert targets.pop("largest_gap_within_half") == max(
                    abs(a - b) for a, b in zip(*curves, strict=True)
                )
                cells = [
                    f"{targets[t]['shorter']:.3f} · {targets[t]['within_half']:.3f}"
                    for t in ("faithful", "reach")
                ]
                row = next(
                    line
                    for line in table.splitlines()
                    if line.startswith(f"| {name} (") and f"| {bound} | {set_name} |" in line
                )
                assert all(cell in row for cell in cells), (row, cells)
