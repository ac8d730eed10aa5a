"""Choosing a self-speculative draft chain on held-out prompts, without decoding speculatively.

A speculative round drafts ``k`` tokens and keeps them up to the first one the full chain would not
have chosen. Every kept draft was made after the full chain's own greedy prefix, so whether a draft
chain's token at position ``p`` is kept depends only on its next token after the full chain's first
``p`` tokens. One teacher-forced pass of the draft chain over the prompt and the full chain's greedy
continuation gives that for every position at once (:func:`forced_agreement`), and
:func:`simulate_rounds` replays the rounds from it: acceptance and tokens per full pass for every
``k``, the :class:`~cola.speculative.SpeculativeStats` that
:func:`cola.speculative.speculative_generate` counts (tested equal). Layers are then
removed in the order of how often skipping each alone keeps the next token
(:func:`removal_path`), giving a path of ever shorter drafts to time with
``scripts/studies/bench_speculative.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from cola import Chain, ChainModel
from cola.speculative import SpeculativeStats


@dataclass(frozen=True)
class Continuation:
    """A prompt (1, T) and the full chain's greedy continuation of it: ``stop`` tokens are what
    greedy decoding returns; the rest (up to the largest k) only let a final round's drafts be
    checked, as the full chain's verification pass checks them."""

    prompt: torch.Tensor
    tokens: list[int]
    stop: int


@torch.inference_mode()
def full_continuation(
    chain_model: ChainModel, prompt: torch.Tensor, max_new_tokens: int, eos_ids: set[int], extra: int
) -> Continuation:
    """The full chain's greedy tokens, ``extra`` past where decoding stops (eos or the limit)."""
    full = tuple(range(chain_model.n_layers))
    tokens = chain_model.generate(  # no stop: the tokens past it check a final round's drafts
        prompt, full, max_new_tokens=max_new_tokens + extra, eos_token_id=[], pad_token_id=0
    )
    new = tokens[0, prompt.shape[1] :].tolist()
    stop = next((k + 1 for k, token in enumerate(new[:max_new_tokens]) if token in eos_ids), max_new_tokens)
    return Continuation(prompt, new, min(stop, len(new)))


@torch.inference_mode()
def forced_agreement(chain_model: ChainModel, continuation: Continuation, chain: Chain) -> np.ndarray:
    """(len(tokens),) bool: is ``chain``'s greedy next token after the prompt and the full chain's
    first p tokens the full chain's token p?"""
    prompt, tokens = continuation.prompt, continuation.tokens
    ids = torch.cat([prompt, prompt.new_tensor([tokens[:-1]])], dim=1)
    logits = chain_model(ids, chain)[0, prompt.shape[1] - 1 :]
    return (logits.argmax(dim=-1) == prompt.new_tensor(tokens)).numpy()


def simulate_rounds(agreement: np.ndarray, stop: int, k: int) -> SpeculativeStats:
    """Replay speculative decoding's rounds: the prompt's pass gives token 0; each round drafts
    positions t..t+k-1, keeps them up to the first disagreement and adds the full chain's own token
    there, until ``stop`` tokens are out. ``agreement`` must reach ``stop + k - 1`` positions."""
    if len(agreement) < stop + k - 1:
        raise ValueError(
            f"agreement covers {len(agreement)} positions; rounds up to k={k} need {stop + k - 1}"
        )
    position, rounds, accepted = 1, 0, 0
    while position < stop:
        kept = 0
        while kept < k and agreement[position + kept]:
            kept += 1
        position += kept + 1
        rounds += 1
        accepted += kept
    return SpeculativeStats(rounds=rounds, drafted=rounds * k, accepted=accepted, tokens=stop)


def pooled(agreements: Sequence[np.ndarray], stops: Sequence[int], k: int) -> SpeculativeStats:
    """Rounds summed over prompts."""
    parts = [simulate_rounds(a, s, k) for a, s in zip(agreements, stops, strict=True)]
    fields = ("rounds", "drafted", "accepted", "tokens")
    return SpeculativeStats(**{f: sum(getattr(part, f) for part in parts) for f in fields})


def removal_path(
    chain_model: ChainModel, continuations: Sequence[Continuation], max_removed: int
) -> list[dict]:
    """Drafts from the full chain down, one skipped layer at a time in the order of how often
    skipping each alone keeps the full chain's next token (over all prompts' positions before
    their stops): each step's chain and its agreements per prompt."""
    n_layers = chain_model.n_layers
    full = tuple(range(n_layers))

    def agreements(chain: Chain) -> list[np.ndarray]:
        return [forced_agreement(chain_model, c, chain) for c in continuations]

    def keep_rate(found: list[np.ndarray]) -> float:
        return float(
            np.mean(np.concatenate([a[: c.stop] for a, c in zip(found, continuations, strict=True)]))
        )

    single_found = {layer: agreements(tuple(k for k in full if k != layer)) for layer in full}
    singles = {layer: keep_rate(found) for layer, found in single_found.items()}
    order = sorted(full, key=lambda layer: (-singles[layer], layer))
    path, removed = [], set()
    for layer in [None, *order[:max_removed]]:
        if layer is not None:
            removed.add(layer)
        chain = tuple(k for k in full if k not in removed)
        found = single_found[layer] if len(removed) == 1 else agreements(chain)
        path.append(
            {
                "chain": chain,
                "skipped": layer,
                "single_keep_rate": None if layer is None else singles[layer],
                "keep_rate": keep_rate(found),
                "agreements": found,
            }
        )
    return path
