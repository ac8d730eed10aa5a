"""Self-speculative greedy decoding: a shorter chain of the same model drafts tokens, the full
chain checks them in one pass. The output is the full chain's greedy output (SWIFT, LayerSkip).

Each round the draft chain proposes ``k`` tokens one at a time; the full chain then runs the
pending token and the ``k`` drafts together and keeps the drafts up to the first one it would not
have chosen, plus its own next token there. Both chains keep their own KV cache (keyed by chain
step, as every cache here), cropped back to the accepted tokens after each round; the draft cache
catches up on tokens it has not seen at the start of the next round, in one pass.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from cola.cache import ChainCache
from cola.chain import Chain
from cola.composer import ChainModel
from cola.generation import StopRule, default_eos_ids


@dataclass
class SpeculativeStats:
    rounds: int = 0  # full-chain passes after the prompt
    drafted: int = 0
    accepted: int = 0
    tokens: int = 0  # new tokens returned
    draft_seconds: float = 0.0
    check_seconds: float = 0.0  # the full chain's passes, the prompt's included

    @property
    def acceptance(self) -> float:
        return self.accepted / self.drafted if self.drafted else 0.0

    @property
    def tokens_per_full_pass(self) -> float:
        return self.tokens / (self.rounds + 1)  # the prompt's pass gives the first token


def _argmax(logits: torch.Tensor) -> list[int]:
    return logits[0].argmax(dim=-1).tolist()


@torch.inference_mode()
def speculative_generate(
    chain_model: ChainModel,
    input_ids: torch.Tensor,
    draft: Iterable[int],
    *,
    k: int,
    max_new_tokens: int,
    eos_token_id: int | Iterable[int] | None = None,
    stop_rule: StopRule | None = None,
) -> tuple[list[int], SpeculativeStats]:
    """The full chain's greedy new tokens for one prompt (1, T), drafted by ``draft``; and stats."""
    if input_ids.shape[0] != 1:
        raise ValueError("speculative decoding runs one prompt at a time (batch 1)")
    if k < 1 or max_new_tokens < 1:
        raise ValueError(f"k and max_new_tokens must be at least 1, got {k} and {max_new_tokens}")
    full, draft = tuple(range(chain_model.n_layers)), chain_model.check_chain(draft)
    eos_ids = set(default_eos_ids(chain_model.model) if eos_token_id is None else _ids(eos_token_id))
    full_cache, draft_cache = chain_model.new_cache(full), chain_model.new_cache(draft)
    prompt = input_ids[0].tolist()
    stats, stopped = SpeculativeStats(), _Stopper(eos_ids, stop_rule, max_new_tokens)
    start = time.perf_counter()
    tokens = _argmax(chain_model.forward(input_ids, full, cache=full_cache, logits_to_keep=1))
    stats.check_seconds += time.perf_counter() - start
    while not stopped(tokens):
        start = time.perf_counter()
        drafts = _draft(
            chain_model, draft, draft_cache, (prompt + tokens)[draft_cache.seen_tokens :], k, input_ids
        )
        middle = time.perf_counter()
        checked = _argmax(
            chain_model.forward(_ids_tensor(tokens[-1:] + drafts, input_ids), full, cache=full_cache)
        )
        stats.draft_seconds += middle - start
        stats.check_seconds += time.perf_counter() - middle
        accepted = next((i for i, (d, c) in enumerate(zip(drafts, checked, strict=False)) if d != c), k)
        tokens += drafts[:accepted] + [checked[accepted]]
        base = len(prompt) + len(tokens) - 1  # every token but the new pending one
        full_cache.crop(base)
        draft_cache.crop(min(draft_cache.seen_tokens, base))
        stats.rounds += 1
        stats.drafted += k
        stats.accepted += accepted
    tokens = tokens[: stopped.stop]
    stats.tokens = len(tokens)
    return tokens, stats


def _draft(
    chain_model: ChainModel, draft: Chain, cache: ChainCache, unseen: list[int], k: int, like: torch.Tensor
) -> list[int]:
    """``k`` greedy tokens of the draft chain after it has read ``unseen`` (ending with the pending token)."""
    drafts: list[int] = []
    logits = chain_model.forward(_ids_tensor(unseen, like), draft, cache=cache, logits_to_keep=1)
    for index in range(k):
        drafts.append(_argmax(logits)[-1])
        if index + 1 < k:
            logits = chain_model.forward(_ids_tensor(drafts[-1:], like), draft, cache=cache, logits_to_keep=1)
    return drafts


def _ids(ids: int | Iterable[int]) -> list[int]:
    return [ids] if isinstance(ids, int) else list(ids)


def _ids_tensor(ids: list[int], like: torch.Tensor) -> torch.Tensor:
    return torch.tensor([ids], dtype=like.dtype, device=like.device)


class _Stopper:
    """Where greedy decoding would have stopped, read once per new token (stop rules are costly)."""

    def __init__(self, eos_ids: set[int], stop_rule: StopRule | None, max_new_tokens: int):
        self.eos_ids, self.stop_rule, self.max_new_tokens = eos_ids, stop_rule, max_new_tokens
        self.checked = 0
        self.stop: int | None = None  # how many tokens greedy decoding returns, once known

    def __call__(self, tokens: list[int]) -> bool:
        while self.stop is None and self.checked < len(tokens):
            self.checked += 1
            count = self.checked
            if (
                count == self.max_new_tokens
                or tokens[count - 1] in self.eos_ids
                or self.stop_rule is not None
                and bool(self.stop_rule(torch.tensor([tokens[:count]]))[0])
            ):
                self.stop = count
        return self.stop is not None
