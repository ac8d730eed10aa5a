"""Pruning rules against random removals of their own form, from chain-list records: accuracy
and agreement with the full chain per named chain, and the random band (range and middle 95%) of
each form and size."""

from __future__ import annotations

import numpy as np


def answers(records: list[dict], name: str) -> np.ndarray:
    return np.array([int(np.argmax(record["scores"][name])) for record in records])


def accuracy_and_agreement(records: list[dict], name: str) -> tuple[float, float]:
    gold = np.array([record["gold"] for record in records])
    chosen, full = answers(records, name), answers(records, "full")
    return float(np.mean(chosen == gold)), float(np.mean(chosen == full))


def random_band(records: list[dict], names: list[str]) -> dict[str, dict[str, float]]:
    """Over random removals ``names`` (one form, one size): accuracy and agreement's minimum,
    2.5th, 50th and 97.5th percentiles and maximum."""
    if not names:
        raise ValueError("a random band needs at least one random removal")
    values = np.array([accuracy_and_agreement(records, name) for name in names])
    band = {}
    for column, measure in enumerate(("accuracy", "agreement")):
        low, middle_low, middle, middle_high, high = np.percentile(values[:, column], [0, 2.5, 50, 97.5, 100])
        band[measure] = {"min": low, "p2.5": middle_low, "median": middle, "p97.5": middle_high, "max": high}
    return band


def chosen_size(records: list[dict], rule: str, sizes: list[int], *, tolerance: float = 0.01) -> int | None:
    """The largest removal whose accuracy is within ``tolerance`` of the full chain's (validation
    picks it; the test split is read at it once); None when no size keeps the accuracy."""
    full = accuracy_and_agreement(records, "full")[0]
    kept = [n for n in sizes if accuracy_and_agreement(records, f"{rule}-{n}")[0] >= full - tolerance - 1e-12]
    return max(kept) if kept else None


def share_of_random_below(records: list[dict], name: str, random_names: list[str]) -> float:
    """The share of random removals whose accuracy is below the rule's (ties count half): where
    the rule stands in its control's distribution."""
    accuracy = accuracy_and_agreement(records, name)[0]
    others = np.array([accuracy_and_agreement(records, other)[0] for other in random_names])
    return float(np.mean(others < accuracy) + 0.5 * np.mean(others == accuracy))
