"""DoLa's premature layer chosen on validation: each variant's accuracy from exit records (their
``dola_scores``), the best static layer, and the policy file that applies the choice."""

from __future__ import annotations

import numpy as np

from cola.dola import DolaPolicy


def variant_accuracy(records: list[dict]) -> dict[str, float]:
    """Each DoLa variant's accuracy (``acc``: the argmax of its summed scores) over ``records``."""
    if not records or any("dola_scores" not in record for record in records):
        raise ValueError("DoLa's choice reads exit records made with DoLa's scores (record_exits.py)")
    names = list(records[0]["dola_scores"])
    return {
        name: float(np.mean([int(np.argmax(r["dola_scores"][name])) == r["gold"] for r in records]))
        for name in names
    }


def variant_layers(name: str, records: list[dict]) -> tuple[int, ...]:
    """The premature layers of a variant: ``static-L`` is layer L; ``low``/``high`` are the bucket's
    candidates as the records' run computed them (every static variant of that bucket)."""
    if name.startswith("static-"):
        return (int(name.removeprefix("static-")),)
    n_layers = records[0]["n_layers"]
    statics = sorted(
        int(n.removeprefix("static-")) for n in records[0]["dola_scores"] if n.startswith("static-")
    )
    if name == "low":
        return tuple(layer for layer in statics if layer < n_layers // 2)
    if name == "high":
        return tuple(layer for layer in statics if layer >= n_layers // 2)
    raise ValueError(
        f"unknown DoLa variant {name!r}; the records hold {', '.join(records[0]['dola_scores'])}"
    )


def best_static(accuracy: dict[str, float]) -> str:
    """The static variant of highest accuracy (ties: the deeper layer, the smaller change)."""
    statics = [name for name in accuracy if name.startswith("static-")]
    return max(statics, key=lambda name: (accuracy[name], int(name.removeprefix("static-"))))


def chosen_policy(
    name: str, records: list[dict], *, relative_top: float = 0.1, repetition_penalty: float = 1.2
) -> DolaPolicy:
    return DolaPolicy(variant_layers(name, records), relative_top, repetition_penalty)
