"""DoLa (Chuang et al., 2024): contrast the final layer's next-token distribution with a premature
layer's, as its reference code and transformers' port do.

The premature logits are the LM head applied to a layer's raw hidden state: the reference skips
the final norm there (voidism/DoLa issue 9; transformers kept it), and this follows the reference
so its figures are DoLa's. The mature logits are the model's own. Dynamic DoLa picks, per token,
the candidate layer whose distribution is farthest from the final one in Jensen-Shannon divergence;
static DoLa uses one layer. The contrast is ``log p_final - log p_premature``, not renormalized
(the reference's decoding and its multiple-choice evaluation, ``post_softmax=False``), and in
generation tokens outside the final layer's plausible set (probability below ``relative_top``
times the top one's) are ruled out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from cola.chain import Chain, full_chain
from cola.composer import ChainModel
from cola.exits import run_with_exits
from cola.generation import StopRule, TokenCallback, default_eos_ids, greedy_loop

BUCKETS = ("low", "high")


def candidate_layers(n_layers: int, bucket: str, *, tied_embeddings: bool) -> list[int]:
    """transformers' candidates: even hidden-state indices below half depth (``low``) or from half
    depth to the last layer (``high``); the embedding output (index 0) is left out when the
    embeddings are tied to the head, where its exit says nothing but the input token."""
    if bucket not in BUCKETS:
        raise ValueError(f"unknown DoLa bucket {bucket!r}; choose from {', '.join(BUCKETS)}")
    start = min(2, n_layers // 2) if tied_embeddings else 0
    if bucket == "high":
        return list(range(n_layers // 2, n_layers, 2))
    return [start] if start == n_layers // 2 else list(range(start, n_layers // 2, 2))


def js_divergence(final_log_probs: torch.Tensor, premature_log_probs: torch.Tensor) -> torch.Tensor:
    """The reference's layer-distance per row between (P, V) and (L, P, V) log-distributions ->
    (L, P): half of KL(M || p_final) + KL(M || p_premature), M their mixture (the argument order
    ``F.kl_div`` gives), averaged over the vocabulary as the reference does (the argmax is the same
    as a sum's)."""
    final = final_log_probs.exp()[None]
    premature = premature_log_probs.exp()
    mixture = 0.5 * (final + premature)
    log_mixture = mixture.clamp_min(torch.finfo(mixture.dtype).tiny).log()
    kl_final = (mixture * (log_mixture - final_log_probs[None])).mean(-1)
    kl_premature = (mixture * (log_mixture - premature_log_probs)).mean(-1)
    return 0.5 * (kl_final + kl_premature)


def dola_log_probs(
    final_logits: torch.Tensor,
    premature_logits: Mapping[int, torch.Tensor],
    *,
    relative_top: float = 0.0,
) -> tuple[torch.Tensor, list[int]]:
    """The contrast ``log p_final - log p_premature`` (P, V) of each position, and the premature
    layer each used; ``premature_logits`` maps candidate layer -> (P, V) (one: static DoLa).

    As the reference's decoding and multiple-choice evaluation (``post_softmax=False``) and
    transformers' port compute it: no renormalization of the contrast; with ``relative_top`` in
    (0, 1), tokens the final layer gives less than ``relative_top`` times its top probability are
    -inf (the top token always stays)."""
    if not premature_logits:
        raise ValueError("DoLa needs at least one premature layer")
    if not 0.0 <= relative_top < 1.0:
        raise ValueError(f"relative_top must be in [0, 1), got {relative_top}")
    layers = sorted(premature_logits)
    final = final_logits.float().log_softmax(-1)
    stacked = torch.stack([premature_logits[layer].float() for layer in layers]).log_softmax(-1)
    chosen = (
        js_divergence(final, stacked).argmax(0)
        if len(layers) > 1
        else torch.zeros(len(final), dtype=torch.long)
    )
    contrast = final - stacked[chosen, torch.arange(len(final))]
    if relative_top > 0.0:
        top = final.max(-1, keepdim=True).values
        contrast = torch.where(final < top + math.log(relative_top), -math.inf, contrast)
    return contrast, [layers[i] for i in chosen.tolist()]


def premature_logits(model: torch.nn.Module, hidden: torch.Tensor) -> torch.Tensor:
    """A premature layer's logits as the reference takes them: the LM head on the raw hidden state."""
    return model.lm_head(hidden)


def repetition_penalized(scores: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """transformers' repetition penalty on (1, V) scores: every token already in ``seen`` (prompt
    and output) has a negative score multiplied by ``penalty``, a positive one divided by it."""
    if penalty == 1.0:
        return scores
    picked = scores.gather(-1, seen[None])
    picked = torch.where(picked < 0, picked * penalty, picked / penalty)
    return scores.scatter(-1, seen[None], picked)


@dataclass(frozen=True)
class DolaPolicy:
    """DoLa as a policy file: the full chain runs, and the answer is read from the contrast of the
    final layer with ``layers`` (one: static; several: dynamic). Multiple choice takes no
    plausibility cut; greedy generation takes ``relative_top`` and ``repetition_penalty``, the
    paper's settings for open-ended text (0.1 and 1.2)."""

    layers: tuple[int, ...]
    relative_top: float = 0.1
    repetition_penalty: float = 1.2
    kind: ClassVar[str] = "dola"

    def choose(self, chain_model: ChainModel, context_ids: torch.Tensor) -> Chain:
        return full_chain(chain_model.n_layers)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"layers": np.asarray(self.layers, dtype=np.int64)}

    def settings(self) -> dict[str, str]:
        return {"relative_top": repr(self.relative_top), "repetition_penalty": repr(self.repetition_penalty)}

    @classmethod
    def from_file(cls, arrays: dict[str, np.ndarray], settings: dict[str, str], chain_model: ChainModel):
        layers = tuple(int(layer) for layer in arrays["layers"])
        if not layers or not all(0 <= layer < chain_model.n_layers for layer in layers):
            raise ValueError(f"DoLa layers {list(layers)} are not among 0..{chain_model.n_layers - 1}")
        return cls(layers, float(settings["relative_top"]), float(settings["repetition_penalty"]))


@torch.inference_mode()
def dola_generate(
    chain_model: ChainModel,
    input_ids: torch.Tensor,
    policy: DolaPolicy,
    *,
    max_new_tokens: int,
    eos_token_id: int | Iterable[int] | None = None,
    stop_rule: StopRule | None = None,
    on_token: TokenCallback | None = None,
) -> torch.Tensor:
    """Greedy DoLa decoding of one prompt (1, T): prompt plus new tokens, with the full chain's
    step-keyed cache; each token is the argmax of the repetition-penalized contrast."""
    if input_ids.shape[0] != 1:
        raise ValueError(f"DoLa decoding takes one prompt at a time, got a batch of {input_ids.shape[0]}")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    n_layers = chain_model.n_layers
    chain, cache = full_chain(n_layers), chain_model.new_cache(full_chain(n_layers))
    eos = set(
        default_eos_ids(chain_model.model) if eos_token_id is None else np.atleast_1d(eos_token_id).tolist()
    )
    seen = [input_ids[0]]

    def contrast(new_ids: torch.Tensor) -> torch.Tensor:
        hidden = chain_model.embed(new_ids)
        inputs = chain_model.step_inputs(hidden, past_length=cache.seen_tokens)
        found = run_with_exits(
            chain_model,
            hidden,
            chain,
            inputs,
            [*policy.layers, n_layers],
            keep=(slice(None), -1),
            cache=cache,
        )
        cache.seen_tokens += new_ids.shape[1]
        final = chain_model.head(found[n_layers])
        premature = {layer: premature_logits(chain_model.model, found[layer]) for layer in policy.layers}
        scores, _ = dola_log_probs(final, premature, relative_top=policy.relative_top)
        return repetition_penalized(scores, torch.cat(seen), policy.repetition_penalty)

    def advance(active: list[int], tokens: list[list[int]]) -> torch.Tensor:
        last = torch.tensor([[tokens[0][-1]]], device=input_ids.device)
        seen.append(last[0])
        if on_token is not None:
            on_token(last[0])
        return contrast(last)

    def finished(row: int, tokens: list[int]) -> bool:
        stop = stop_rule is not None and bool(stop_rule(torch.tensor([tokens], device=input_ids.device))[0])
        return tokens[-1] in eos or stop

    new = greedy_loop(contrast(input_ids), advance, max_new_tokens=max_new_tokens, finished=finished)[0]
    if on_token is not None and new:
        on_token(torch.tensor(new[-1:], device=input_ids.device))
    return torch.cat([input_ids, torch.tensor([new], device=input_ids.device)], dim=1)
