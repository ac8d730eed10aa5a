"""KV cache for a chain: one slot per chain *step*, never per original layer index.

transformers' attention modules call ``past_key_values.update(k, v, self.layer_idx)``. A chain
may run one layer at several steps, so the composer hands each call a *step view*
(:class:`StepView`): something with that ``update`` that ignores ``layer_idx`` and serves the
step being run. There are two: :class:`StepSlot`, one chain's slot, and :class:`BatchedStepView`,
the same step of several chains batched into one layer call (see :mod:`cola.lanes`).
Sliding-window steps keep their whole history; the attention mask, not the cache, enforces the
window.
"""

from __future__ import annotations

from typing import Protocol

import torch

from cola.chain import Chain


class ChainCache:
    """Keys and values for each step of one chain, plus the token counter the composer owns."""

    def __init__(self, chain: Chain, step_layer_types: tuple[str, ...]):
        if len(step_layer_types) != len(chain):
            raise ValueError(f"{len(step_layer_types)} layer types for a {len(chain)}-step chain")
        self.chain = chain
        self.step_layer_types = step_layer_types
        self.keys: list[torch.Tensor | None] = [None] * len(chain)
        self.values: list[torch.Tensor | None] = [None] * len(chain)
        self.seen_tokens = 0  # advanced by the composer once every step has run

    def __len__(self) -> int:
        return len(self.chain)

    def slot(self, step: int) -> StepSlot:
        return StepSlot(self, step)

    def update(self, step: int, key: torch.Tensor, value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append ``key``/``value`` (B, H_kv, T, D) to ``step`` and return the whole history."""
        if self.keys[step] is None:
            self.keys[step], self.values[step] = key, value
        else:
            self.keys[step] = torch.cat([self.keys[step], key], dim=-2)
            self.values[step] = torch.cat([self.values[step], value], dim=-2)
        return self.keys[step], self.values[step]


class StepView(Protocol):
    """What one attention call sees as ``past_key_values``: one chain step's keys and values."""

    def update(self, key_states, value_states, layer_idx=None, *args, **kwargs):
        """Store the new states; return (history + new) keys and values."""


class StepSlot:
    """What one attention call sees as ``past_key_values``: the slot of a single chain step."""

    __slots__ = ("cache", "step")

    def __init__(self, cache: ChainCache, step: int):
        self.cache = cache
        self.step = step

    def update(self, key_states, value_states, layer_idx=None, *args, **kwargs):
        # layer_idx is the *original* layer's index: deliberately ignored, the step decides.
        return self.cache.update(self.step, key_states, value_states)


class BatchedStepView:
    """One step of several chains in one batched layer call: their histories stacked by row.

    It returns history + new states to the attention and keeps the new states in ``new``, which
    the caller hands back to each chain's own :class:`ChainCache`. The histories are the chains'
    own tensors (one chain) or a stacked copy (several): see :func:`stack_rows`.
    """

    __slots__ = ("keys", "new", "values")

    def __init__(self, history: list[tuple[torch.Tensor, torch.Tensor]] | None):
        self.keys = stack_rows([k for k, _ in history]) if history else None
        self.values = stack_rows([v for _, v in history]) if history else None
        self.new: tuple[torch.Tensor, ...] = ()

    def update(self, key_states, value_states, layer_idx=None, *args, **kwargs):
        self.new = (key_states, value_states)
        if self.keys is None:
            return key_states, value_states
        return torch.cat([self.keys, key_states], dim=-2), torch.cat([self.values, value_states], dim=-2)


def stack_rows(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Rows stacked along the batch; one row as it is (copying a whole KV history on every step
    is what a lone chain would otherwise pay)."""
    return tensors[0] if len(tensors) == 1 else torch.cat(tensors)
