"""How much depth each input needs to reproduce the full chain: the summary of a faithful search
run (``search.reward=faithful``), beside its reach control when it ran."""

from __future__ import annotations

import numpy as np

from benchmarks.analysis.stats import mean_interval, rate
from benchmarks.machine import summarize_machine

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
        "mean_ci95": [low, high] if len(lengths) > 1 else None,  # no interval from one input
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
        lengths = [_depth(r, prefix) for r in ran]
        summary[name] = depth_summary(lengths, n_layers)
        for correct, label in ((True, "right"), (False, "wrong")):
            split = [
                length for r, length in zip(ran, lengths, strict=True) if r["original_correct"] == correct
            ]
            summary[f"{name}_{label}"] = depth_summary(split, n_layers)
    return summary


def _depth(record: dict, prefix: str) -> int:
    """One definition of depth: :func:`depth_at` over the whole run at its own bound; records from
    before per-chain lengths were kept fall back to the search's best (the same number)."""
    depth = depth_at(record, prefix=prefix)
    return depth if depth is not None else (record[f"{prefix}best_length"] or record["n_layers"])


BOUNDS = (0.01, 0.05, 0.2)  # KL bounds in nats the table reads
BUDGETS = (25, 50, 100)
TOKENS = (1, 4, 16, None)  # generation: faithful for the first t answer tokens (None: all)


def depth_at(
    record: dict,
    *,
    budget: int | None = None,
    bound: float | None = None,
    tokens: int | None = None,
    prefix: str = "",
) -> int | None:
    """The shortest chain among the full chain and the first ``budget`` chains after it (depth
    within k evaluations: the full chain plus k, as "reached within k" counts them) that is faithful
    at ``bound`` (multiple choice: the full chain's answer, or the reach target's, KL within it) or for the first
    ``tokens`` (generation); the full chain's length when none is shorter. One run at the widest
    bound (or all tokens) serves every tighter one: each evaluated chain's KL or agreeing prefix is
    recorded. None when the run cannot answer (a wider bound than its own, or no ``lengths``)."""
    lengths = record.get(f"{prefix}lengths")
    if lengths is None:
        return None
    read = len(lengths) if budget is None else budget + 1  # the full chain is evaluation 0
    if f"{prefix}kls" in record:
        if bound is not None and bound > record["faithful_kl"] + 1e-12:
            return None
        # the full chain's answer, or the reach target's (``reach_answer``; records from
        # before it aimed at the least likely pair, which keeps the full chain's answer)
        answer = record.get(f"{prefix}answer", record["original_prediction"])
        bound = record["faithful_kl"] if bound is None else bound
        ok = [
            prediction == answer and kl <= bound
            for prediction, kl in zip(record[f"{prefix}predictions"], record[f"{prefix}kls"], strict=True)
        ]
    else:
        needed = record["reach_needed" if prefix else "faithful_needed"]
        needed = needed if tokens is None else min(tokens, needed)
        ok = [agreement >= needed for agreement in record[f"{prefix}agreements"]]
    return min([record["n_layers"], *(n for n, good in zip(lengths[:read], ok[:read], strict=True) if good)])
