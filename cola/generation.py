"""Greedy decoding under a chain, with the chain's step-keyed KV cache.

Mirrors transformers' greedy ``generate``: left-padded batches, positions from the attention
mask, rows that finished keep receiving the pad token, and decoding stops once every row has
hit EOS (or a caller's stop rule) or ``max_new_tokens`` is reached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import torch

from cola.cache import ChainCache
from cola.chain import Chain

if TYPE_CHECKING:  # the composer imports this module; the type is only needed for annotations
    from cola.composer import ChainModel

StopRule = Callable[[torch.Tensor], torch.Tensor]
"""Given the new tokens so far (B, t), return a bool (B,) of rows that should stop."""

TokenCallback = Callable[[torch.Tensor], None]
"""Called with each step's new token ids (B,), e.g. to stream text to a terminal."""


def default_eos_ids(model: torch.nn.Module) -> list[int]:
    generation_config = getattr(model, "generation_config", None)
    eos = getattr(generation_config, "eos_token_id", None)
    if eos is None:
        eos = getattr(model.config, "eos_token_id", None)
    return _as_id_list(eos)


def _as_id_list(ids: int | Iterable[int] | None) -> list[int]:
    if ids is None:
        return []
    if isinstance(ids, int):
        return [ids]
    return list(ids)


@torch.inference_mode()
def greedy_generate(
    chain_model: ChainModel,
    input_ids: torch.Tensor,
    chain: Chain,
    *,
    max_new_tokens: int,
    attention_mask: torch.Tensor | None = None,
    eos_token_id: int | Iterable[int] | None = None,
    pad_token_id: int | None = None,
    stop_rule: StopRule | None = None,
    on_token: TokenCallback | None = None,
) -> torch.Tensor:
    """Prompt plus up to ``max_new_tokens`` greedy tokens per row, as a (B, T + n) LongTensor.

    ``eos_token_id=None`` uses the model's generation config. Rows that stopped early are filled
    with ``pad_token_id`` (default: the model's pad token, else the first EOS id).
    """
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    cache = chain_model.new_cache(chain)
    logits = chain_model.forward(
        input_ids, chain, attention_mask=attention_mask, cache=cache, logits_to_keep=1
    )
    new_tokens = greedy_decode(
        chain_model,
        cache,
        logits[:, -1],
        attention_mask,
        max_new_tokens=max_new_tokens,
        eos_token_id=eos_token_id,
        pad_token_id=pad_token_id,
        stop_rule=stop_rule,
        on_token=on_token,
    )
    return torch.cat([input_ids, new_tokens], dim=1)


@torch.inference_mode()
def greedy_decode(
    chain_model: ChainModel,
    cache: ChainCache,
    next_logits: torch.Tensor,
    attention_mask: torch.Tensor,
    *,
    max_new_tokens: int,
    eos_token_id: int | Iterable[int] | None = None,
    pad_token_id: int | None = None,
    stop_rule: StopRule | None = None,
    on_token: TokenCallback | None = None,
) -> torch.Tensor:
    """New tokens (B, n) decoded greedily from a prefilled ``cache`` whose last logits are ``next_logits``."""
    eos_ids = _as_id_list(eos_token_id) if eos_token_id is not None else default_eos_ids(chain_model.model)
    pad_id = _resolve_pad(chain_model.model, pad_token_id, eos_ids)
    batch = next_logits.shape[0]
    eos = torch.tensor(eos_ids, dtype=torch.long, device=next_logits.device)
    finished = torch.zeros(batch, dtype=torch.bool, device=next_logits.device)
    tokens: list[torch.Tensor] = []
    for step in range(max_new_tokens):
        if step:
            attention_mask = torch.cat([attention_mask, attention_mask.new_ones(batch, 1)], dim=1)
            next_logits = chain_model.forward(
                tokens[-1][:, None], cache.chain, attention_mask=attention_mask, cache=cache, logits_to_keep=1
            )[:, -1]
        next_ids = next_logits.argmax(dim=-1)
        next_ids = torch.where(finished, torch.full_like(next_ids, pad_id), next_ids)
        tokens.append(next_ids)
        if on_token is not None:
            on_token(next_ids)
        finished |= torch.isin(next_ids, eos)
        if stop_rule is not None:
            finished |= stop_rule(torch.stack(tokens, dim=1))
        if bool(finished.all()):
            break
    return torch.stack(tokens, dim=1)


def _resolve_pad(model: torch.nn.Module, pad_token_id: int | None, eos_ids: list[int]) -> int:
    if pad_token_id is not None:
        return pad_token_id
    generation_config = getattr(model, "generation_config", None)
    pad = getattr(generation_config, "pad_token_id", None)
    if pad is None:
        pad = getattr(model.config, "pad_token_id", None)
    if pad is None and eos_ids:
        pad = eos_ids[0]
    if pad is None:
        raise ValueError("no pad_token_id given and the model defines neither a pad nor an EOS token")
    return int(pad)
