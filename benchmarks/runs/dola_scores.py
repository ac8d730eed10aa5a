"""DoLa's answer to a multiple-choice question: each answer token scored by the contrast of the
final layer with a premature one (:mod:`cola.dola`), summed over the choice's tokens, from one
packed pass that keeps the candidate layers' hidden states at the scored positions only."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from benchmarks.queries import ChoiceOutcome, LoglikelihoodQuery
from cola import ChainModel, full_chain
from cola.dola import dola_log_probs, premature_logits
from cola.exits import run_with_exits


@torch.inference_mode()
def choice_dola(
    chain_model: ChainModel, query: LoglikelihoodQuery, layers: Sequence[int], *, relative_top: float = 0.0
) -> tuple[ChoiceOutcome, list[int]]:
    """DoLa's outcome over ``layers`` (one: static; several: dynamic), and the premature layer each
    scored token used. Multiple choice takes no plausibility cut (the reference's relative_top 0)."""
    n_layers = chain_model.n_layers
    bad = [layer for layer in layers if not 0 <= layer < n_layers]
    if not layers or bad:
        raise ValueError(f"DoLa's premature layers must be among 0..{n_layers - 1}, got {list(layers)}")
    packed = query.packed
    hidden = chain_model.embed(packed.input_ids)
    inputs = chain_model.packed_inputs(hidden, packed.position_ids, packed.visible)
    found = run_with_exits(
        chain_model, hidden, full_chain(n_layers), inputs, [*layers, n_layers], keep=(0, packed.scored)
    )
    final = chain_model.head(found[n_layers])
    premature = {layer: premature_logits(chain_model.model, found[layer]) for layer in layers}
    contrast, chosen = dola_log_probs(final, premature, relative_top=relative_top)
    predictors = packed.scored_index
    token_scores = contrast[predictors, query.targets]
    return query.choice_outcome(token_scores), [chosen[i] for i in predictors.tolist()]
