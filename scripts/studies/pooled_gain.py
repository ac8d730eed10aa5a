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
from pathlib import Path

from benchmarks.analysis.fresh_rows import SLICES, in_rows
from benchmarks.analysis.policy_gains import common_records
from benchmarks.analysis.stats import format_p, mcnemar_exact, pooled_clustered_difference
from benchmarks.results import load_records
from benchmarks.runs.session import emit_table, named_value


def named_pair(text: str) -> tuple[str, tuple[Path, Path]]:
    name, paths = named_value(text, "CELL=FIRST,SECOND")
    first, comma, second = paths.partition(",")
    if not comma:
        raise argparse.ArgumentTypeError(f"expected CELL=FIRST,SECOND, got {text!r}")
    return name, (Path(first), Path(second))


def cell_pairs(first: list[dict], second: list[dict]) -> tuple[list[str], list[bool], list[bool]]:
    paired = common_records({"first": first, "second": second})
    ids = [record["id"] for record in paired["first"]]
    return ids, [bool(r["correct"]) for r in paired["first"]], [bool(r["correct"]) for r in paired["second"]]


def table(cells: dict[str, tuple[list[dict], list[dict]]]) -> str:
    lines = [
        "| rows | cell | n | up / down | difference | p |",
        "|---|---|---|---|---|---|",
    ]
    for slice_name, (first_row, last_row) in SLICES.items():
        sliced = {
            name: (in_rows(first, first_row, last_row), in_rows(second, first_row, last_row))
            for name, (first, second) in cells.items()
        }
        pairs = {
            name: cell_pairs(*runs) for name, runs in sliced.items() if all(runs)
        }  # a cell may not reach
        if not pairs:
            continue
        for name, (ids, a, b) in pairs.items():
            up = sum(x and not y for x, y in zip(a, b, strict=True))
            down = sum(y and not x for x, y in zip(a, b, strict=True))
            lines.append(
                f"| {slice_name} | {name} | {len(ids)} | {up} / {down} | {(up - down) / len(ids):+.3f} | "
                f"{format_p(mcnemar_exact(a, b))} (exact McNemar) |"
            )
        pooled = pooled_clustered_difference(pairs)
        low, high = pooled["difference_ci"]
        lines.append(
            f"| {slice_name} | **pooled** ({pooled['n_questions']} questions) | {pooled['n_pairs']} | "
            f"{pooled['up']} / {pooled['down']} | **{pooled['difference']:+.3f} ({low:+.3f}–{high:+.3f})** | "
            f"{format_p(pooled['p'], pooled['resamples'])} (question sign flips) |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("cells", nargs="+", type=named_pair, help="CELL=FIRST,SECOND")
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this file")
    args = parser.parse_args()
    try:
        cells = {name: (load_records(first), load_records(second)) for name, (first, second) in args.cells}
        emit_table(table(cells), args.out)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None


if __name__ == "__main__":
    main()
