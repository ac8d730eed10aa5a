"""How much depth each input needs to reproduce the full chain: the summary of a faithful search
run (``search.reward=faithful``), beside its reach control when it ran."""

from __future__ import annotations

import numpy as np

from benchmarks.experiments.machine import summarize_machine
from benchmarks.experiments.stats import mean_interval, rate

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def depth_summary(lengths: list[int], n_layers: int) -> dict | None:
    """Quantiles, mean (95% CI) and the share of inputs that needed fewer layers than the model has."""
    if not lengths:
        return None
    mean, low, high = mean_interval(lengths)
    share, interval = rate([length < n_layers for length in lengths])
    return {
        "n": len(lengths),
        "mean": mean,
        "mean_ci95": [low, high],
        "quantiles": {str(q): float(np.quantile(lengths, q)) for q in QUANTILES},
        "shortened": share,
        "shortened_ci95": interval,
    }


def summarize_faithful(records: list[dict]) -> dict:
    """Layers needed per input (the shortest faithful chain found; the full chain when none is
    shorter), overall and split by whether the full chain is right, and the reach control's."""
    if not records:
        return {"n": 0}
    n_layers = records[0]["n_layers"]
    summary = {"n": len(records), "n_layers": n_layers, "machine": summarize_machine(records)}
    for prefix, name in (("", "faithful"), ("reach_", "reach")):
        ran = [r for r in records if f"{prefix}best_length" in r]
        lengths = [r[f"{prefix}best_length"] or n_layers for r in ran]  # None: nothing met the bound
        summary[name] = depth_summary(lengths, n_layers)
        for correct, label in ((True, "right"), (False, "wrong")):
            split = [
                length for r, length in zip(ran, lengths, strict=True) if r["original_correct"] == correct
            ]
            summary[f"{name}_{label}"] = depth_summary(split, n_layers)
    return summary
