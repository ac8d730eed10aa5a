"""The development rows and the rows never used in development, once for every analysis.

The first 500 rows of each test split were read while the project's methods were chosen (the
runner-up finding, the calibration's features), so a figure computed on a whole test split is
given beside the same figure on rows 500 and later. Rows are positions in the split's file order,
looked up by each record's question id, so a resumed, sharded or merged run selects the same rows.
"""

from __future__ import annotations

import functools

from benchmarks.datasets import load_benchmark

DEVELOPMENT_ROWS = 500
SLICES = {"all rows": (0, None), "rows 0–499": (0, DEVELOPMENT_ROWS), "rows 500+": (DEVELOPMENT_ROWS, None)}


@functools.cache
def row_positions(benchmark: str, split: str) -> dict[str, int]:
    """Question id -> its row in the split's file."""
    return {example.id: row for row, example in enumerate(load_benchmark(benchmark, split=split))}


def in_rows(
    records: list[dict],
    first: int,
    last: int | None,
    *,
    benchmark: str | None = None,
    split: str | None = None,
) -> list[dict]:
    """The records of rows ``first`` to ``last`` (exclusive; None: to the end), in row order. The
    benchmark and split are each record's own unless given (records of evaluate runs may lack them)."""
    chosen = []
    for record in records:
        positions = row_positions(benchmark or record["benchmark"], split or record["split"])
        if record["id"] not in positions:
            raise ValueError(
                f"record {record['id']!r} is not a question of {benchmark or record['benchmark']} {split or record['split']}"
            )
        row = positions[record["id"]]
        if row >= first and (last is None or row < last):
            chosen.append((row, record))
    return [record for _, record in sorted(chosen, key=lambda pair: pair[0])]


def by_slice(records: list[dict], **where: str) -> dict[str, list[dict]]:
    """The records of the whole split, the development rows and rows 500+."""
    return {name: in_rows(records, first, last, **where) for name, (first, last) in SLICES.items()}
