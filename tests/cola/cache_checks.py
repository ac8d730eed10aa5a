"""Shared reference check for the real-model tests: cached decoding against a full recompute."""

from __future__ import annotations

import torch

from cola import ChainModel


def assert_cached_equals_uncached(
    chain_model: ChainModel, prompt_ids, chain, *, tail: int = 3, tol: float
) -> None:
    """Prefill all but the last ``tail`` tokens into a chain cache, feed those one at a time, and
    compare every position's logits with ``chain``'s uncached forward over the whole prompt."""
    recompute = chain_model.forward(prompt_ids, chain)
    cache = chain_model.new_cache(chain)
    prefill = chain_model.forward(prompt_ids[:, :-tail], chain, cache=cache)
    length = prompt_ids.shape[1]
    decoded = [
        chain_model.forward(prompt_ids[:, i : i + 1], chain, cache=cache)
        for i in range(length - tail, length)
    ]
    torch.testing.assert_close(torch.cat([prefill, *decoded], dim=1), recompute, atol=tol, rtol=tol)
