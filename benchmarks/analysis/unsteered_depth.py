"""The depth each target needs on an unsteered chain set (records of :mod:`benchmarks.runs.chain_sets`).

A target no chain of the set meets is censored at full depth: depth is reported as the share of
inputs met within L layers, a curve, and its median where it is defined.
"""

from __future__ import annotations

import numpy as np

from benchmarks.faithful import kl_divergence, reach_reference
from search.guesses import choice_distribution

TARGETS = ("faithful", "reach")
BOUNDS = (0.01, 0.05, 0.2)  # nats, as the faithful report reads them


def target_of(record: dict, target: str) -> tuple[np.ndarray, int]:
    """The target distribution and answer: the full chain's own, or the runner-up swap's."""
    reference = choice_distribution(record["scores"][0], 1.0)
    answer = int(np.argmax(reference))
    return (reference, answer) if target == "faithful" else reach_reference(reference, "runner_up", answer)


def depth(record: dict, target: str, bound: float, kinds: tuple[str, ...]) -> int | None:
    """The fewest layers among the record's chains of ``kinds`` (the full chain always among them)
    that give the target's answer within ``bound`` nats of its distribution; None: censored (no
    chain of the set meets it)."""
    reference, answer = target_of(record, target)
    met = [
        length
        for kind, length, scores in zip(record["kinds"], record["lengths"], record["scores"], strict=True)
        if kind in ("full", *kinds)
        and int(np.argmax(scores)) == answer
        and kl_divergence(reference, choice_distribution(scores, 1.0)) <= bound
    ]
    return min(met) if met else None


def depth_curve(records: list[dict], target: str, bound: float, kinds: tuple[str, ...]) -> dict:
    """Share of inputs whose target is met within L layers, L = 1 .. n, and the median depth
    (None where fewer than half are met at all: the censoring hides it)."""
    n_layers = records[0]["n_layers"]
    depths = [depth(record, target, bound, kinds) for record in records]
    met = np.array([np.inf if d is None else d for d in depths])
    within = [float(np.mean(met <= layers)) for layers in range(1, n_layers + 1)]
    median = next((layers for layers, share in enumerate(within, start=1) if share >= 0.5), None)
    return {"n": len(records), "within": within, "median": median, "censored": float(np.mean(met == np.inf))}
