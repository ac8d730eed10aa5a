"""Label-free policies against the full chain and the best calibration on the same questions.

Reads ``scripts/evaluate.py`` runs (the full chain, chain policies, calibrations) of one split and
gives one row per policy: accuracy with its Wilson interval; the share of questions answered as
the full chain answers them (its agreement, Wilson interval: the faithful policies' target); the
paired difference from the full
chain and from the rival (the best calibration), each with a bootstrap interval and the exact
McNemar p, Holm-adjusted over the policies compared with the full chain; mean layers run; seconds
per question (median, p90) and the machine load. ``sliced_rows`` gives the rows on the whole split
and on rows 500 and later; :mod:`benchmarks.reports.policy_table` writes them as markdown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.analysis.fresh_rows import SLICES, in_rows
from benchmarks.analysis.stats import (
    holm,
    mcnemar_exact,
    median_p90,
    paired_bootstrap_interval,
    pooled_clustered_difference,
    rate,
)
from benchmarks.machine import summarize_machine


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
    by_id = {name: {r["id"]: r for r in records} for name, records in runs.items()}
    return {name: [by_id[name][i] for i in order] for name in runs}


def agreement(records: list[dict], full: list[dict]) -> tuple[float, list[float]] | None:
    """The share of questions on which a run predicts what the full chain predicts, with its Wilson
    interval; None when a record lacks its prediction."""
    if any("prediction" not in r for r in (*records, *full)):
        return None
    return rate([r["prediction"] == f["prediction"] for r, f in zip(records, full, strict=True)])


def policy_rows(runs: dict[str, list[dict]], *, full: str, rival: str | None = None) -> list[dict]:
    """One row per run; differences against ``full`` (Holm over the others) and against ``rival``
    (Holm over the others but ``full``: a second family)."""
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
                "seconds_mean": float(np.mean(seconds)) if timed else None,
                "machine": summarize_machine(records),
            }
        )
    full_row = next(row for row in rows if row["policy"] == full)
    for row in rows:  # time against the full chain's, meaningful where the runs shared a machine
        both = row["seconds_mean"] is not None and full_row["seconds_mean"]
        row["time_vs_full"] = row["seconds_mean"] / full_row["seconds_mean"] if both else None
    compared = [row for row in rows if row["vs_full"] is not None]
    for row, adjusted in zip(compared, holm([row["vs_full"].p for row in compared]), strict=True):
        row["vs_full_holm"] = adjusted
    # the family against the rival is its own: every policy but the full chain and the rival itself
    rivalled = [row for row in rows if row["vs_rival"] is not None and row["policy"] != full]
    for row, adjusted in zip(rivalled, holm([row["vs_rival"].p for row in rivalled]), strict=True):
        row["vs_rival_holm"] = adjusted
    return rows


def sliced_rows(runs: dict[str, list[dict]], *, full: str, rival: str | None) -> dict[str, list[dict]]:
    """The rows on every row the runs share and again on rows 500 and later (the rows never used in
    development), each with its own Holm over the same policies; a slice no run reaches is left out."""
    sliced = {}
    for name in ("all rows", "rows 500+"):
        first, last = SLICES[name]
        chosen = {run: in_rows(records, first, last) for run, records in runs.items()}
        if all(chosen.values()):
            sliced[name] = policy_rows(chosen, full=full, rival=rival)
    return sliced


def sliced_statistics(sliced: dict[str, list[dict]]) -> dict:
    """The sliced rows as a statistics file holds them: per slice, per policy, every figure (the
    README's headline table is rendered from these files, never typed)."""

    def plain(value):
        return (
            {"difference": value.difference, "interval": value.interval, "p": value.p}
            if isinstance(value, Comparison)
            else value
        )

    return {
        slice_name: {row["policy"]: {key: plain(value) for key, value in row.items()} for row in rows}
        for slice_name, rows in sliced.items()
    }


def cell_pairs(first: list[dict], second: list[dict]) -> tuple[list[str], list[bool], list[bool]]:
    paired = common_records({"first": first, "second": second})
    ids = [record["id"] for record in paired["first"]]
    return ids, [bool(r["correct"]) for r in paired["first"]], [bool(r["correct"]) for r in paired["second"]]


def pooled_rows(cells: dict[str, tuple[list[dict], list[dict]]]) -> dict[str, dict]:
    """Per slice (whole split, rows 0-499, rows 500+): each cell's paired difference of ``first``
    less ``second`` (ups, downs, exact McNemar p) and the difference pooled over the cells
    (:func:`~benchmarks.analysis.stats.pooled_clustered_difference`); a slice no cell reaches is
    left out."""
    found = {}
    for slice_name, (first_row, last_row) in SLICES.items():
        sliced = {
            name: (in_rows(first, first_row, last_row), in_rows(second, first_row, last_row))
            for name, (first, second) in cells.items()
        }
        pairs = {name: cell_pairs(*runs) for name, runs in sliced.items() if all(runs)}
        if not pairs:
            continue
        per_cell = {}
        for name, (ids, a, b) in pairs.items():
            up = sum(x and not y for x, y in zip(a, b, strict=True))
            down = sum(y and not x for x, y in zip(a, b, strict=True))
            per_cell[name] = {
                "n": len(ids),
                "up": up,
                "down": down,
                "difference": (up - down) / len(ids),
                "p": mcnemar_exact(a, b),
            }
        found[slice_name] = {"cells": per_cell, "pooled": pooled_clustered_difference(pairs)}
    return found
