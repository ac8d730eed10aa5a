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

from benchmarks.analysis.exit_policies import acc_norm, answered, dola, full_chain, pmi
from benchmarks.analysis.stats import median_p90
from benchmarks.learners.dola_choice import best_static, variant_accuracy
from benchmarks.learners.exit_calibration import answered_records, fit_exit_calibration
from benchmarks.machine import summarize_machine
from benchmarks.reports.policy_table import sliced_markdown
from benchmarks.results import load_records
from benchmarks.runs.session import emit_table
from cola import parse_chain


def recording_cost(records: list[dict]) -> str:
    """Every method above is read from one recording pass per question (all its exits, DoLa's
    variants and the neutral premise): its seconds, which bound each method's own cost."""
    seconds = median_p90([r["seconds"] for r in records if r.get("seconds") is not None])
    machine = summarize_machine(records)
    if seconds is None:
        return ""
    load = f", load median {machine['median_load_1m']:.1f} on {machine['cpus']} CPUs" if machine else ""
    return (
        f"\nEvery method is read from one recording pass per question (every exit, DoLa's variants, "
        f"the neutral premise): {seconds[0]:.2f} s a question median, p90 {seconds[1]:.2f}{load}.\n"
    )


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
    args = parser.parse_args()
    try:
        train, validation = load_records(args.train), load_records(args.validation)
        test = validation if args.test is None else load_records(args.test)
        read = "validation" if args.test is None else "test"
        splits = {
            name: {r["split"] for r in records}
            for name, records in zip(("train", "validation", read), (train, validation, test), strict=True)
        }
        if any(found != {name} for name, found in splits.items()):
            raise ValueError(f"each run must hold its own split's records; found {splits}")
        n_layers = test[0]["n_layers"]
        recorded = [exit_ for exit_ in test[0]["exits"] if exit_ != n_layers]  # the final one is in already
        exits = sorted(set(parse_chain(args.exits, n_layers + 1))) if args.exits else recorded
        variant = best_static(variant_accuracy(validation))
        final_only, _, _ = fit_exit_calibration(train, validation, [])
        stacked, _, _ = fit_exit_calibration(train, validation, exits)
        runs = {
            "full chain": answered(test, full_chain),
            "acc_norm": answered(test, acc_norm),
            "PMI": answered(test, pmi),
            f"DoLa {variant}": answered(test, dola(variant)),
            "DoLa low": answered(test, dola("low")),
            "DoLa high": answered(test, dola("high")),
            "calibration": answered_records(final_only, test, [], "calibration"),
            "exit calibration": answered_records(stacked, test, exits, "exit calibration"),
        }
        for name in ("calibration", "exit calibration"):  # the policy table pairs on benchmark rows
            runs[name] = [
                r | {"benchmark": t["benchmark"], "split": t["split"]}
                for r, t in zip(runs[name], test, strict=True)
            ]
        table = sliced_markdown(runs, full="full chain", rival="calibration")
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
