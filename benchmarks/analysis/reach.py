"""What "reached within k" and "the twin ran" mean, once, for every summary, report and plot.

A record keeps, per target (gold, and with the placebo twin the placebo, fields prefixed
``placebo_``), the evaluation that first reached it: 0 is the full chain, k the k-th chain (or
try) after it. A search with a budget of k evaluations reaches the target iff that is at most k,
since no search's choices depend on its budget; so one run answers "within k" for every smaller k.
"""

from __future__ import annotations

import numpy as np


def found_within(record: dict, budget: int | None, prefix: str = "") -> bool:
    """Whether the search reached its target within ``budget`` evaluations (None: at all)."""
    first = record.get(f"{prefix}first_correct_evaluation")
    if first is None:  # records from before evaluation counts were kept: any correct chain
        return record[f"{prefix}best_chain"] is not None and budget is None
    return budget is None or first <= budget


def first_evaluations(records: list[dict], prefix: str = "") -> np.ndarray:
    """Each record's first reaching evaluation, infinity where the target was never reached."""
    firsts = [record.get(f"{prefix}first_correct_evaluation") for record in records]
    return np.array([np.inf if first is None else first for first in firsts], dtype=float)


def twin_ran(record: dict) -> bool:
    """A placebo was drawn and the twin searched for it (not only drawn)."""
    return record.get("placebo") is not None and "placebo_best_chain" in record


def with_twin(records: list[dict]) -> list[dict]:
    return [record for record in records if twin_ran(record)]


def wrong_with_twin(records: list[dict]) -> list[dict]:
    """The originally-wrong records whose twin ran: the ones that tell gold from the placebo."""
    return [record for record in with_twin(records) if not record["original_correct"]]


def reach(records: list[dict]) -> int:
    """The most evaluations any search in these records spent after the full chain: rates
    "within k" for a larger k would only repeat a smaller run's final rate."""
    spent = [
        max(r["n_evaluated"] - 1, r.get("iterations") or 0, (r.get("placebo_n_evaluated") or 1) - 1)
        for r in records
    ]  # iterations: a search whose first simulation re-evaluated the full chain still had its budget
    return max(spent, default=0)


def common_reach(*runs: list[dict]) -> int:
    """The budget every one of these runs reached: the most a comparison of them may read."""
    return min((reach(records) for records in runs), default=0)
