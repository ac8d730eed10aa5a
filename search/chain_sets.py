"""Chain sets that no reward steers: the removal path in a prior's keep order and random removals
of the same sizes. Depth read over such a set answers "how many layers does this input need for
target T?" alike for every target, since nothing in how the chains were chosen aims at one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from search.types import Chain


def keep_order(keep: Mapping[tuple, float], n_layers: int) -> list[int]:
    """Layers by their single-skip keep rate, highest first (the safest to remove; a layer the prior
    does not list counts as 0, as in the descent; ties: the lower layer first)."""
    return sorted(range(n_layers), key=lambda layer: (-keep.get(("skip", layer, 1), 0.0), layer))


def without(layers: Sequence[int], n_layers: int) -> Chain:
    removed = set(layers)
    return tuple(layer for layer in range(n_layers) if layer not in removed)


def removal_path(order: Sequence[int], n_layers: int) -> list[Chain]:
    """The full chain less the first k layers of ``order``, for k = 1 .. n_layers - 1."""
    if sorted(order) != list(range(n_layers)):
        raise ValueError(f"a removal order must list each of the {n_layers} layers once, got {list(order)}")
    return [without(order[:k], n_layers) for k in range(1, n_layers)]


def random_removals(n_layers: int, rng: np.random.Generator, *, per_size: int = 1) -> list[Chain]:
    """``per_size`` chains for each k = 1 .. n_layers - 1, each the full chain less k random layers:
    the removal path's lengths with no order behind them."""
    return [
        without(rng.choice(n_layers, size=k, replace=False).tolist(), n_layers)
        for k in range(1, n_layers)
        for _ in range(per_size)
    ]
