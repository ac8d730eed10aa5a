"""Shared reference check for the real-model tests: cached decoding against a full recompute."""

from __future__ import annotations

import torch

from cola import ChainModel


def assert_cached_equals_uncached(
    chain_model: ChainModel, prompt_ids, chain, *, tail: int = 3, tol: float, prefill_positions: int = 0
) -> None:
    """Prefill all but the last ``tail`` tokens into a chain cache, feed those one at a time, and
    compare the logits with ``chain``'s uncached forward over the whole prompt: at every position,
    or at the last ``prefill_positions`` of the prefill and every decoded one (a long prompt's LM
    head over a large vocabulary costs more than its layers; every position's error reaches the
    last ones through attention)."""
    keep = prefill_positions + tail if prefill_positions else 0
    recompute = chain_model.forward(prompt_ids, chain, logits_to_keep=keep)
    cache = chain_model.new_cache(chain)
    prefill = chain_model.forward(prompt_ids[:, :-tail], chain, cache=cache, logits_to_keep=prefill_positions)
    length = prompt_ids.shape[1]
    decoded = [
        chain_model.forward(prompt_ids[:, i : i + 1], chain, cache=cache)
        for i in range(length - tail, length)
    ]
    torch.testing.assert_close(torch.cat([prefill, *decoded], dim=1), recompute, atol=tol, rtol=tol)
