"""Which layers to remove, by the field's pruning rules, and the random removals each is checked
against (numpy only).

Rules: ShortGPT's Block Influence (remove the ``n`` layers that change the hidden state least),
Gromov et al.'s angular distance (remove the block of ``n`` consecutive layers whose input and
output are closest), reverse order (remove the last ``n`` layers, or the ``n`` before the last),
and cola's keep-rate order (the layers whose single skip most often kept the answer). Each rule's
control is a random removal of its own form: any ``n`` layers, a random block of ``n``, or ``n``
layers other than the last.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from search.chain_sets import without
from search.types import Chain

RULES = ("block_influence", "angular", "reverse", "reverse_keep_final", "keep_rate")
FORMS = ("any", "block", "any_but_final")  # the random removals' forms
CONTROL_OF = {  # each rule's random removal has the rule's form
    "block_influence": "any",
    "keep_rate": "any",
    "angular": "block",
    "reverse": "block",
    "reverse_keep_final": "any_but_final",
}


def check_size(n: int, n_layers: int) -> None:
    if not 1 <= n < n_layers:
        raise ValueError(f"remove 1..{n_layers - 1} layers of a {n_layers}-layer model, not {n}")


def lowest_influence(influence: Sequence[float], n: int) -> list[int]:
    """The ``n`` layers of lowest Block Influence (ties: the later layer first, as deep layers are)."""
    check_size(n, len(influence))
    return sorted(sorted(range(len(influence)), key=lambda layer: (influence[layer], -layer))[:n])


def closest_block(distance: Sequence[float], n: int) -> list[int]:
    """The block of ``n`` layers whose angular distance (indexed by first layer) is smallest."""
    start = int(np.argmin(distance))
    return list(range(start, start + n))


def reverse_order(n_layers: int, n: int, *, keep_final: bool = False) -> list[int]:
    """The last ``n`` layers, or the ``n`` just before the last one."""
    check_size(n, n_layers)
    end = n_layers - 1 if keep_final else n_layers
    if end - n < 0:
        raise ValueError(f"cannot remove {n} layers before the last of {n_layers}")
    return list(range(end - n, end))


def random_removal(n_layers: int, n: int, form: str, rng: np.random.Generator) -> list[int]:
    """A removal of ``form`` ``any``, ``block`` or ``any_but_final``, drawn uniformly."""
    check_size(n, n_layers)
    if form == "any":
        return sorted(rng.choice(n_layers, size=n, replace=False).tolist())
    if form == "block":
        start = int(rng.integers(n_layers - n + 1))
        return list(range(start, start + n))
    if form == "any_but_final":
        return sorted(rng.choice(n_layers - 1, size=n, replace=False).tolist())
    raise ValueError(f"unknown removal form {form!r}; choose from {', '.join(FORMS)}")


def pruned_chain(removed: Sequence[int], n_layers: int) -> Chain:
    return without(removed, n_layers)
