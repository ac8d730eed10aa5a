"""Greedy decoding under a chain, with the chain's step-keyed KV cache.

Mirrors transformers' greedy ``generate``: left-padded batches, positions from the attention
mask, rows that finished keep receiving the pad token, and decoding stops once every row has
hit EOS (or a caller's stop rule) or ``max_new_tokens`` is reached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

import torch

from cola.cache import ChainCache
from cola.chain import Chain


class ChainForward(Protocol):
    """What decoding needs of a composed model (:class:`cola.composer.ChainModel` is one).

    A protocol rather than the class keeps the import one way: the composer uses this module.
    """

    model: torch.nn.Module  # the wrapped ``*ForCausalLM``, read for its EOS and pad tokens

    def new_cache(self, chain: Iterable[int]) -> ChainCache: ...

    def forward(
        self,
        input_ids: torch.Tensor,
        chain: Iterable[int],
        *,
        attention_mask: torch.Tensor | None = None,
        cache: ChainCache | None = None,
        logits_to_keep: int = 0,
    ) -> torch.Tensor: ...


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
    chain_model: ChainForward,
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


Advance = Callable[[list[int], list[list[int]]], torch.Tensor]
"""Given the rows still decoding and every row's tokens so far, the next logits of those rows."""


def greedy_loop(
    first_logits: torch.Tensor,
    advance: Advance,
    *,
    max_new_tokens: int,
    finished: Callable[[int, list[int]], bool],
) -> list[list[int]]:
    """The one greedy decode loop: each row's new tokens until ``finished(row, tokens)`` or
    ``max_new_tokens``. Rows that finish leave the loop; ``advance`` computes only the others."""
    tokens: list[list[int]] = [[] for _ in range(first_logits.shape[0])]
    active, logits = list(range(len(tokens))), first_logits
    for index in range(max_new_tokens):
        if index:
            logits = advance(active, tokens)
        for row, token in zip(active, logits.argmax(dim=-1).tolist(), strict=True):
            tokens[row].append(token)
        active = [row for row in active if not finished(row, tokens[row])]
        if not active:
            break
    return tokens


@torch.inference_mode()
def greedy_decode(
    chain_model: ChainForward,
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
    """New tokens (B, n) decoded greedily from a prefilled ``cache`` whose last logits are
    ``next_logits``; rows that stopped are padded with the pad token, as transformers does."""
    eos_ids = _as_id_list(eos_token_id) if eos_token_id is not None else default_eos_ids(chain_model.model)
    pad_id = _resolve_pad(chain_model.model, pad_token_id, eos_ids)
    device = next_logits.device
    mask = [attention_mask]

    def last_tokens(tokens: list[list[int]]) -> torch.Tensor:
        step = max(len(row) for row in tokens)
        return torch.tensor([row[-1] if len(row) == step else pad_id for row in tokens], device=device)

    def advance(active: list[int], tokens: list[list[int]]) -> torch.Tensor:
        # Every row runs (the cache is batched); finished rows are fed the pad token, as in generate.
        mask[0] = torch.cat([mask[0], mask[0].new_ones(len(tokens), 1)], dim=1)
        logits = chain_model.forward(
            last_tokens(tokens)[:, None], cache.chain, attention_mask=mask[0], cache=cache, logits_to_keep=1
        )
        return logits[active, -1]

    def finished(row: int, tokens: list[int]) -> bool:
        if stop_rule is None:
            return tokens[-1] in eos_ids
        return tokens[-1] in eos_ids or bool(stop_rule(torch.tensor([tokens], device=device))[0])

    if on_token is not None:
        advance = _streamed(advance, on_token, pad_id)
        on_token(next_logits.argmax(dim=-1))
    tokens = greedy_loop(next_logits, advance, max_new_tokens=max_new_tokens, finished=finished)
    width = max(len(row) for row in tokens)
    return torch.tensor([row + [pad_id] * (width - len(row)) for row in tokens], device=device)


def _streamed(advance: Advance, on_token: TokenCallback, pad_id: int) -> Advance:
    """Call ``on_token`` with each step's new tokens (B,), pad for finished rows."""

    def streamed(active: list[int], tokens: list[list[int]]) -> torch.Tensor:
        logits = advance(active, tokens)
        chosen = torch.full((len(tokens),), pad_id, dtype=torch.long, device=logits.device)
        chosen[active] = logits.argmax(dim=-1)
        on_token(chosen)
        return logits

    return streamed


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
