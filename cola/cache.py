"""KV cache for a chain: one slot per chain *step*, never per original layer index.

transformers' attention modules call ``cache.update(k, v, self.layer_idx)`` on the cache their
layer was given (``past_key_values`` before transformers 5.24). A chain
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
    """Keys and values for each step of one chain, plus the token counter the composer owns.

    Each step's states live in a buffer that grows by a quarter (at least 64 tokens) when full;
    new states are written in place and attention gets a view, so decoding a token copies only
    that token's states, not the history.
    """

    def __init__(self, chain: Chain, step_layer_types: tuple[str, ...]):
        if len(step_layer_types) != len(chain):
            raise ValueError(f"{len(step_layer_types)} layer types for a {len(chain)}-step chain")
        self.chain = chain
        self.step_layer_types = step_layer_types
        self._buffers: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * len(chain)
        self._lengths = [0] * len(chain)
        self.seen_tokens = 0  # advanced by the composer once every step has run

    def __len__(self) -> int:
        return len(self.chain)

    @property
    def keys(self) -> list[torch.Tensor | None]:
        return [self.history(step)[0] for step in range(len(self.chain))]

    @property
    def values(self) -> list[torch.Tensor | None]:
        return [self.history(step)[1] for step in range(len(self.chain))]

    def history(self, step: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Views of ``step``'s keys and values (B, H_kv, T, D), or (None, None) before any."""
        if self._buffers[step] is None:
            return None, None
        length = self._lengths[step]
        keys, values = self._buffers[step]
        return keys[..., :length, :], values[..., :length, :]

    @property
    def allocated_bytes(self) -> int:
        return sum(t.untyped_storage().nbytes() for buffers in self._buffers if buffers for t in buffers)

    @staticmethod
    def capacity_for(tokens: int) -> int:
        """A step's buffer size once it holds ``tokens``: a quarter more (at least 64) to grow into."""
        return tokens + max(64, tokens // 4)

    def crop(self, tokens: int) -> None:
        """Forget every state after the first ``tokens`` (a rejected speculative draft's)."""
        if not 0 <= tokens <= self.seen_tokens:
            raise ValueError(f"cannot crop a cache of {self.seen_tokens} tokens to {tokens}")
        self._lengths = [min(length, tokens) for length in self._lengths]
        self.seen_tokens = tokens

    def slot(self, step: int) -> StepSlot:
        return StepSlot(self, step)

    def update(self, step: int, key: torch.Tensor, value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append ``key``/``value`` (B, H_kv, T, D) to ``step`` and return views of the whole history."""
        start, stop = self._lengths[step], self._lengths[step] + key.shape[-2]
        buffers = self._buffers[step]
        if buffers is None or stop > buffers[0].shape[-2]:
            capacity = self.capacity_for(stop)
            grown = tuple(t.new_empty(*t.shape[:-2], capacity, t.shape[-1]) for t in (key, value))
            if buffers is not None:
                for old, new in zip(buffers, grown, strict=True):
                    new[..., :start, :] = old[..., :start, :]
            self._buffers[step] = buffers = grown
        buffers[0][..., start:stop, :] = key
        buffers[1][..., start:stop, :] = value
        self._lengths[step] = stop
        return self.history(step)


class StepView(Protocol):
    """What one attention call sees as its KV cache: one chain step's keys and values."""

    def update(self, key_states, value_states, layer_idx=None, *args, **kwargs):
        """Store the new states; return (history + new) keys and values."""


class StepSlot:
    """What one attention call sees as its KV cache: the slot of a single chain step."""

    __slots__ = ("cache", "step")

    def __init__(self, cache: ChainCache, step: int):
        self.cache = cache
        self.step = step

    def update(self, key_states, value_states, layer_idx=None, *args, **kwargs):
        # layer_idx is the *original* layer's index: deliberately ignored, the step decides.
        return self.cache.update(self.step, key_states, value_states)


class BatchedStepView:
    """One step of several chains in one batched layer call (see :mod:`cola.lanes`).

    With one chain it is that chain's own slot: new states are written in place. With several,
    their histories (of equal length: lanes advance in rounds) and the new states are copied once
    into one batch for the attention; the caller hands the new states (``new``) back to each
    chain's cache.
    """

    __slots__ = ("caches", "new", "step")

    def __init__(self, caches: list[ChainCache], step: int):
        self.caches, self.step = caches, step
        self.new: tuple[torch.Tensor, ...] = ()

    @property
    def writes_in_place(self) -> bool:
        return len(self.caches) == 1

    def update(self, key_states, value_states, layer_idx=None, *args, **kwargs):
        self.new = (key_states, value_states)
        if self.writes_in_place:
            return self.caches[0].update(self.step, key_states, value_states)
        histories = [cache.history(self.step) for cache in self.caches]
        if histories[0][0] is None:
            return key_states, value_states
        return tuple(
            _rows_then_new([history[index] for history in histories], new)
            for index, new in enumerate((key_states, value_states))
        )


def _rows_then_new(rows: list[torch.Tensor], new: torch.Tensor) -> torch.Tensor:
    """(k, H, T + t, D): row i's history then its new states, in one allocation."""
    length = rows[0].shape[-2]
    batch = new.new_empty(new.shape[0], new.shape[1], length + new.shape[-2], new.shape[-1])
    for row, history in enumerate(rows):
        batch[row : row + 1, :, :length] = history
    batch[:, :, length:] = new
    return batch


def stack_rows(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Rows stacked along the batch; one row as it is (copying a whole KV history on every step
    is what a lone chain would otherwise pay)."""
    return tensors[0] if len(tensors) == 1 else torch.cat(tensors)
