"""KV cache for a chain: one slot per chain *step*, never per original layer index.

transformers' attention modules call ``past_key_values.update(k, v, self.layer_idx)``. A chain
may run one layer at several steps, so the composer hands each call a :class:`StepSlot` that
ignores ``layer_idx`` and writes to the slot of the step being run. Sliding-window steps keep
their whole history; the attention mask, not the cache, enforces the window.
"""

from __future__ import annotations

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

    def reorder(self, batch_index: torch.Tensor) -> None:
        """Keep only (or reorder) the batch rows in ``batch_index``."""
        self.keys = [k.index_select(0, batch_index) if k is not None else None for k in self.keys]
        self.values = [v.index_select(0, batch_index) if v is not None else None for v in self.values]


class StepSlot:
    """What one attention call sees as ``past_key_values``: the slot of a single chain step."""

    __slots__ = ("cache", "step")

    def __init__(self, cache: ChainCache, step: int):
        self.cache = cache
        self.step = step

    def update(self, key_states, value_states, layer_idx=None, *args, **kwargs):
        # layer_idx is the *original* layer's index: deliberately ignored, the step decides.
        return self.cache.update(self.step, key_states, value_states)
