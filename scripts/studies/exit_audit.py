"""The field's output-side methods on one test split, from exit records, against the full chain and
the final-layer calibration: acc_norm, domain-conditional PMI, DoLa (its layer chosen on
validation), and the calibration with every layer's exit stacked in (fit on train, ridge on
validation). Printed on the whole split and on rows 500+, Holm over the methods against the full
chain and, separately, over those against the calibration. Without ``--test`` the table reads the
validation records themselves: a look used to choose, optimistic for every method tuned there.

    python scripts/studies/exit_audit.py --train outputs/exits/smollm2/arc_easy-train \
        --validation outputs/exits/smollm2/arc_easy-validation --test outputs/exits/smollm2/arc_easy-test \
        [--exits 0-30] [--out table.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.analysis.policy_gains import sliced_rows, sliced_statistics
from benchmarks.learners.exit_calibration import check_splits, field_method_answers
from benchmarks.reports.policy_table import recording_cost, sliced_markdown
from benchmarks.results import load_records, recorded_path, write_json
from benchmarks.runs.session import emit_table
from cola import parse_chain


def sources(args: argparse.Namespace) -> dict[str, str]:
    return {
        split: recorded_path(path)
        for split in ("train", "validation", "test")
        if (path := getattr(args, split))
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for split in ("train", "validation", "test"):
        parser.add_argument(
            f"--{split}", type=Path, required=split != "test", help=f"exit records of the {split} split"
        )
    parser.add_argument(
        "--exits",
        default=None,
        help="exits stacked, as chain text (default: every exit recorded but the final)",
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this file")
    parser.add_argument(
        "--statistics",
        type=Path,
        default=None,
        help="also write every figure to this JSON file (the README's source)",
    )
    args = parser.parse_args()
    try:
        train, validation = load_records(args.train), load_records(args.validation)
        test = validation if args.test is None else load_records(args.test)
        read = "validation" if args.test is None else "test"
        check_splits(train, validation, test, read)
        n_layers = test[0]["n_layers"]
        exits = sorted(set(parse_chain(args.exits, n_layers + 1))) if args.exits else None
        runs = field_method_answers(train, validation, test, exits)
        table = sliced_markdown(runs, full="full chain", rival="calibration")
        if args.statistics:
            sliced = sliced_rows(runs, full="full chain", rival="calibration")
            write_json(args.statistics, {"read": read, "records": sources(args)} | sliced_statistics(sliced))
        table += recording_cost(test)
        if args.test is None:
            table = (
                "Read on the validation records, where the DoLa layer and both ridges were chosen: "
                "optimistic for those methods.\n\n" + table
            )
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    emit_table(table, args.out)


if __name__ == "__main__":
    main()
