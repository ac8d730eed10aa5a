"""The field methods' primary comparison: the exit calibration against the final-layer calibration
(and against the full chain), cell by cell and pooled over the cells (model x split), clustered by
question and stratified by the cells holding it, on the whole split, rows 0-499 and rows 500+
(docs/results/field_methods/PLAN.md, written before the test splits were read).

    python scripts/studies/exit_pooled.py \
        "SmolLM2 ARC-Easy=records/smollm2-arc_easy-train.jsonl.gz,records/smollm2-arc_easy-validation.jsonl.gz,records/smollm2-arc_easy-test.jsonl.gz" \
        "SmolLM2 ARC-Challenge=..." [--out table.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.analysis.policy_gains import pooled_rows
from benchmarks.learners.exit_calibration import check_splits, field_method_answers
from benchmarks.reports.policy_table import pooled_markdown
from benchmarks.results import load_records, recorded_path, write_json
from benchmarks.runs.session import emit_table, named_value

RIVALS = ("calibration", "full chain")


def cell(text: str) -> tuple[str, tuple[Path, Path, Path]]:
    name, paths = named_value(text, "CELL=TRAIN,VALIDATION,TEST")
    parts = paths.split(",")
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"expected CELL=TRAIN,VALIDATION,TEST records, got {text!r}")
    return name, tuple(Path(part) for part in parts)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("cells", nargs="+", type=cell, help="CELL=TRAIN,VALIDATION,TEST exit records")
    parser.add_argument("--out", type=Path, default=None, help="also write the tables to this file")
    parser.add_argument(
        "--statistics", type=Path, default=None, help="also write every figure to this JSON file"
    )
    args = parser.parse_args()
    try:
        answers, learned_from = {}, {"train": 0, "validation": 0}
        for name, paths in args.cells:
            train, validation, test = (load_records(path) for path in paths)
            check_splits(train, validation, test, "test")
            answers[name] = field_method_answers(train, validation, test)
            learned_from["train"] += len(train)
            learned_from["validation"] += len(validation)
        compared = {
            rival: {name: (runs["exit calibration"], runs[rival]) for name, runs in answers.items()}
            for rival in RIVALS
        }
        tables = [
            f"**exit calibration − {rival}**\n\n" + pooled_markdown(cells)
            for rival, cells in compared.items()
        ]
        if args.statistics:
            sources = {name: [recorded_path(path) for path in paths] for name, paths in args.cells}
            statistics = {rival: pooled_rows(cells) for rival, cells in compared.items()}
            # questions the cells' exit calibrations were fit on (train) and tuned on (validation)
            write_json(args.statistics, {"records": sources, "learned_from": learned_from} | statistics)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    emit_table("\n".join(tables), args.out)


if __name__ == "__main__":
    main()
