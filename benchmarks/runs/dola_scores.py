"""DoLa's answer to a multiple-choice question: each answer token scored by the contrast of the
final layer with a premature one (:mod:`cola.dola`), summed over the choice's tokens, from one
packed pass that keeps the candidate layers' hidden states at the scored positions only."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import torch

from benchmarks.queries import ChoiceOutcome, GenerationQuery, LoglikelihoodQuery, Query
from cola import Chain, ChainModel, full_chain
from cola.dola import DolaPolicy, dola_generate, dola_log_probs, premature_logits
from cola.exits import run_with_exits


@torch.inference_mode()
def choice_dola(
    chain_model: ChainModel, query: LoglikelihoodQuery, layers: Sequence[int], *, relative_top: float = 0.0
) -> tuple[ChoiceOutcome, list[int]]:
    """DoLa's outcome over ``layers`` (one: static; several: dynamic), and the premature layer each
    scored token used. Multiple choice takes no plausibility cut (the reference's relative_top 0)."""
    check_layers(layers, chain_model.n_layers)
    found = exit_states(chain_model, query, [*layers, chain_model.n_layers])
    return dola_from_states(chain_model, query, found, layers, relative_top=relative_top)


def exit_states(
    chain_model: ChainModel, query: LoglikelihoodQuery, exits: list[int]
) -> dict[int, torch.Tensor]:
    """The full chain's hidden state at each exit, at the packed form's scored positions (S, H):
    one pass over the question that DoLa and the exit records both read."""
    packed = query.packed
    hidden = chain_model.embed(packed.input_ids)
    inputs = chain_model.packed_inputs(hidden, packed.position_ids, packed.visible)
    return run_with_exits(
        chain_model, hidden, full_chain(chain_model.n_layers), inputs, exits, keep=(0, packed.scored)
    )


def check_layers(layers: Sequence[int], n_layers: int) -> None:
    bad = [layer for layer in layers if not 0 <= layer < n_layers]
    if not layers or bad:
        raise ValueError(f"DoLa's premature layers must be among 0..{n_layers - 1}, got {list(layers)}")


def dola_from_states(
    chain_model: ChainModel,
    query: LoglikelihoodQuery,
    found: dict[int, torch.Tensor],
    layers: Sequence[int],
    *,
    relative_top: float = 0.0,
) -> tuple[ChoiceOutcome, list[int]]:
    """DoLa's outcome from hidden states already kept at the packed scored positions (exit ->
    (S, H), the final exit among them)."""
    final = chain_model.head(found[chain_model.n_layers])
    premature = {layer: premature_logits(chain_model.model, found[layer]) for layer in layers}
    return dola_from_logits(query, final, premature, relative_top=relative_top)


def dola_from_logits(
    query: LoglikelihoodQuery,
    final: torch.Tensor,
    premature: dict[int, torch.Tensor],
    *,
    relative_top: float = 0.0,
) -> tuple[ChoiceOutcome, list[int]]:
    """DoLa's outcome from the final and premature logits at the scored positions: variants that
    share layers share their logits."""
    contrast, chosen = dola_log_probs(final, premature, relative_top=relative_top)
    predictors = query.packed.scored_index
    token_scores = contrast[predictors, query.targets]
    return query.choice_outcome(token_scores), [chosen[i] for i in predictors.tolist()]


def dola_fields(chain_model: ChainModel, tokenizer, query: Query, policy: DolaPolicy) -> dict:
    """DoLa's answer to one query: multiple choice scored by the contrast (no plausibility cut),
    GSM8K decoded greedily with the policy's cut and repetition penalty, then graded."""
    if isinstance(query, LoglikelihoodQuery):
        outcome, used = choice_dola(chain_model, query, policy.layers)
        return {
            "prediction": outcome.prediction,
            "correct": outcome.correct,
            "scores": outcome.scores,
            "prediction_norm": outcome.prediction_norm,
            "correct_norm": outcome.correct_norm,
            "premature_layers": used,
        }
    if isinstance(query, GenerationQuery):
        ids = query.input_ids.to(chain_model.device)
        output = dola_generate(
            chain_model, ids, policy, max_new_tokens=query.max_new_tokens, eos_token_id=tokenizer.eos_token_id
        )
        return query.grade(tokenizer.decode(output[0, ids.shape[1] :], skip_special_tokens=True))
    raise ValueError(
        "a DoLa policy contrasts the answer tokens' distributions: use benchmark.mode=loglikelihood "
        "for ARC (letter mode reads one label logit, which DoLa's reference never scored)"
    )


def score_dola(
    chain_model: ChainModel, tokenizer, queries: list[Query], policy: DolaPolicy
) -> Iterable[tuple[Query, dict, Chain, float]]:
    """Yield (query, fields, the chain run, seconds) per query, as ``score_queries`` does."""
    chain = full_chain(chain_model.n_layers)
    for query in queries:
        start = time.perf_counter()
        fields = dola_fields(chain_model, tokenizer, query, policy)
        yield query, fields, chain, time.perf_counter() - start
