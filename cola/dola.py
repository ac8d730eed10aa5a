"""DoLa (Chuang et al., 2024): contrast the final layer's next-token distribution with a premature
layer's, as its reference code and transformers' port do.

The premature logits are the LM head applied to a layer's raw hidden state: the reference skips
the final norm there (voidism/DoLa issue 9; transformers kept it), and this follows the reference
so its figures are DoLa's. The mature logits are the model's own. Dynamic DoLa picks, per token,
the candidate layer whose distribution is farthest from the final one in Jensen-Shannon divergence;
static DoLa uses one layer. The contrast is ``log p_final - log p_premature``, renormalized
(``post_softmax``), and tokens outside the final layer's plausible set (probability below
``relative_top`` times the top one's) get ``-1000`` where ``relative_top`` > 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

BUCKETS = ("low", "high")
IMPLAUSIBLE = -1000.0  # the reference's relative_top_value


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
    post_softmax: bool = True,
) -> tuple[torch.Tensor, list[int]]:
    """The contrasted log-distribution (P, V) of each position, and the premature layer each used.

    ``premature_logits`` maps candidate layer -> (P, V); with one candidate it is static DoLa."""
    if not premature_logits:
        raise ValueError("DoLa needs at least one premature layer")
    layers = sorted(premature_logits)
    final = final_logits.float().log_softmax(-1)
    stacked = torch.stack([premature_logits[layer].float() for layer in layers]).log_softmax(-1)
    chosen = (
        js_divergence(final, stacked).argmax(0)
        if len(layers) > 1
        else torch.zeros(len(final), dtype=torch.long)
    )
    base = stacked[chosen, torch.arange(len(final))]
    contrast = final - base
    if post_softmax:
        contrast = contrast.log_softmax(-1)
    if relative_top > 0.0:
        top = final.max(-1, keepdim=True).values
        # the reference keeps at least the top token: its threshold is min(top + log r, top)
        contrast = torch.where(final < top + math.log(relative_top), IMPLAUSIBLE, contrast)
    return contrast, [layers[i] for i in chosen.tolist()]


def premature_logits(model: torch.nn.Module, hidden: torch.Tensor) -> torch.Tensor:
    """A premature layer's logits as the reference takes them: the LM head on the raw hidden state."""
    return model.lm_head(hidden)
