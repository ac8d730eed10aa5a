"""Each exit's accuracy and agreement with the full chain, and the unsupervised output readings
(acc_norm, domain-conditional PMI), on one split's exit records, with Wilson intervals.

    python scripts/studies/exit_table.py outputs/exits/smollm2/arc_easy-validation [--out table.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.analysis.exit_policies import acc_norm, full_chain, pmi
from benchmarks.analysis.stats import format_rate, rate
from benchmarks.results import load_records
from benchmarks.runs.session import emit_table


def exit_answer(exit_: int):
    return lambda record: int(np.argmax(record["exit_scores"][record["exits"].index(exit_)]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", type=Path, help="an exit run (record_exits.py) or its records file")
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this file")
    args = parser.parse_args()
    records = load_records(args.run)
    full = [full_chain(r) for r in records]
    readings = {f"exit {k}": exit_answer(k) for k in records[0]["exits"]}
    readings |= {"acc_norm (final layer)": acc_norm}
    if all("neutral_scores" in r for r in records):
        readings["PMI (final layer)"] = pmi
    lines = [
        f"{len(records)} questions of {records[0]['benchmark']} {records[0]['split']}, {records[0]['n_layers']} layers",
        "",
        "| reading | accuracy (95% CI) | agrees with the full chain (95% CI) |",
        "|---|---|---|",
    ]
    for name, answer in readings.items():
        chosen = [answer(r) for r in records]
        correct = [c == r["gold"] for c, r in zip(chosen, records, strict=True)]
        agree = [c == f for c, f in zip(chosen, full, strict=True)]
        lines.append(f"| {name} | {format_rate(*rate(correct))} | {format_rate(*rate(agree))} |")
    emit_table("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()
