"""Label-free policies against the full chain and the best calibration on the same questions.

Reads ``scripts/evaluate.py`` runs (the full chain, chain policies, calibrations) of one split and
writes one row per policy: accuracy with its Wilson interval; the share of questions answered as
the full chain answers them (its agreement, Wilson interval: the faithful policies' target); the
paired difference from the full
chain and from the rival (the best calibration), each with a bootstrap interval and the exact
McNemar p, Holm-adjusted over the policies compared with the full chain; mean layers run; seconds
per question (median, p90) and the machine load. ``sliced_markdown`` gives the table on the whole
split and on rows 500 and later side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.experiments.fresh_rows import SLICES, in_rows
from benchmarks.experiments.machine import summarize_machine
from benchmarks.experiments.stats import (
    format_p,
    format_rate,
    holm,
    mcnemar_exact,
    median_p90,
    paired_bootstrap_interval,
    rate,
)


@dataclass(frozen=True)
class Comparison:
    difference: float
    interval: list[float] | None
    p: float | None


def compare(first: list[bool], second: list[bool]) -> Comparison:
    difference = float(np.mean(first) - np.mean(second))
    return Comparison(difference, paired_bootstrap_interval(first, second), mcnemar_exact(first, second))


def common_records(runs: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Each run's records on the questions every run answered, in one order; refused if that is none."""
    shared = set.intersection(*({record["id"] for record in records} for records in runs.values()))
    if not shared:
        raise ValueError("the runs share no question")
    order = [record["id"] for record in next(iter(runs.values())) if record["id"] in shared]
    return {name: [{r["id"]: r for r in records}[i] for i in order] for name, records in runs.items()}


def agreement(records: list[dict], full: list[dict]) -> tuple[float, list[float]] | None:
    """The share of questions on which a run predicts what the full chain predicts, with its Wilson
    interval; None when a record lacks its prediction."""
    if any("prediction" not in r for r in (*records, *full)):
        return None
    return rate([r["prediction"] == f["prediction"] for r, f in zip(records, full, strict=True)])


def policy_rows(runs: dict[str, list[dict]], *, full: str, rival: str | None = None) -> list[dict]:
    """One row per run; differences against ``full`` (Holm over the others) and ``rival``."""
    runs = common_records(runs)
    correct = {name: [bool(r["correct"]) for r in records] for name, records in runs.items()}
    rows = []
    for name, records in runs.items():
        accuracy, interval = rate(correct[name])
        seconds = [r["seconds"] for r in records]  # None where derived from another run's records
        timed = None not in seconds
        rows.append(
            {
                "policy": name,
                "n": len(records),
                "accuracy": accuracy,
                "accuracy_ci95": interval,
                "agreement": agreement(records, runs[full]),
                "vs_full": compare(correct[name], correct[full]) if name != full else None,
                "vs_rival": compare(correct[name], correct[rival]) if rival and name != rival else None,
                "mean_layers": float(np.mean([r["chain_length"] for r in records])),
                "seconds_median_p90": median_p90(seconds) if timed else None,
                "machine": summarize_machine(records),
            }
        )
    compared = [row for row in rows if row["vs_full"] is not None]
    for row, adjusted in zip(compared, holm([row["vs_full"].p for row in compared]), strict=True):
        row["vs_full_holm"] = adjusted
    return rows


def _difference(comparison: Comparison | None, adjusted: float | None = None) -> str:
    if comparison is None:
        return "–"
    low, high = comparison.interval
    p = format_p(comparison.p)
    text = f"{comparison.difference:+.3f} ({low:+.3f}–{high:+.3f}), p {p if p.startswith('<') else '= ' + p}"
    if adjusted is not None:
        text += f", Holm {format_p(adjusted)}"
        if adjusted < 0.05:
            text = f"**{text}**"
    return text


def _seconds(median_p90: list[float] | None) -> str:
    return "–" if median_p90 is None else f"{median_p90[0]:.2f}, {median_p90[1]:.2f}"


def policy_markdown(rows: list[dict], *, full: str, rival: str | None) -> str:
    lines = [
        f"| policy | n | accuracy (95% CI) | agrees with {full} (95% CI) | − {full} (95% CI, McNemar p) | "
        f"− {rival or 'rival'} | mean layers | s / question (median, p90) | load (median) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        machine = row["machine"]
        load = f"{machine['median_load_1m']:.1f}" if machine else "–"
        lines.append(
            f"| {row['policy']} | {row['n']} | {format_rate(row['accuracy'], row['accuracy_ci95'])} | "
            f"{format_rate(*row['agreement']) if row['agreement'] else '–'} | {_difference(row['vs_full'], row.get('vs_full_holm'))} | {_difference(row['vs_rival'])} | "
            f"{row['mean_layers']:.2f} | {_seconds(row['seconds_median_p90'])} | "
            f"{load} |"
        )
    return "\n".join(lines) + "\n"


def sliced_markdown(runs: dict[str, list[dict]], *, full: str, rival: str | None) -> str:
    """The table on every row the runs share and again on rows 500 and later (the rows never used
    in development), each with its own Holm over the same policies; a slice no run reaches is left
    out."""
    parts = []
    for name in ("all rows", "rows 500+"):
        first, last = SLICES[name]
        chosen = {run: in_rows(records, first, last) for run, records in runs.items()}
        if all(chosen.values()):
            rows = policy_rows(chosen, full=full, rival=rival)
            parts.append(f"**{name}**\n\n" + policy_markdown(rows, full=full, rival=rival))
    return "\n".join(parts)
