"""DoLa against a direct implementation on transformers' own hidden states, token by token, as the
reference code computes it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from benchmarks.runs.dola_scores import choice_dola
from cola import ChainModel
from cola.dola import candidate_layers, dola_log_probs
from tests.benchmarks.test_queries import ARC, loglikelihood_query


def reference_choice_scores(model, query, layers: list[int]) -> list[float]:
    """Each choice as its own row, each answer token's premature layer picked by the reference's
    divergence (``F.kl_div`` against the mixture), post-softmax contrast, no plausibility cut."""
    scores = []
    for row, (start, continuation) in enumerate(
        zip(query.context_lengths, query.continuation_ids, strict=True)
    ):
        out = model(query.input_ids[row : row + 1, : start + len(continuation)], output_hidden_states=True)
        total = 0.0
        for position, token in zip(
            range(start - 1, start - 1 + len(continuation)), continuation, strict=True
        ):
            mature = out.logits[0, position]
            premature = torch.stack(
                [model.lm_head(out.hidden_states[layer][0, position]) for layer in layers]
            )
            mixture = 0.5 * (F.softmax(mature, -1)[None] + F.softmax(premature, -1))
            kl1 = F.kl_div(F.log_softmax(mature, -1)[None], mixture, reduction="none").mean(-1)
            kl2 = F.kl_div(F.log_softmax(premature, -1), mixture, reduction="none").mean(-1)
            picked = premature[int((0.5 * (kl1 + kl2)).argmax())]
            contrast = (F.log_softmax(mature, -1) - F.log_softmax(picked, -1)).log_softmax(-1)
            total += float(contrast[token])
        scores.append(total)
    return scores


@torch.inference_mode()
@pytest.mark.parametrize("layers", [[2], [0, 2], [1, 2, 3]], ids=["static", "low", "three"])
def test_choice_scores_match_the_reference_computation(tiny_model, tokenizer, layers):
    query = loglikelihood_query(ARC[2], tokenizer, chat=False)
    outcome, chosen = choice_dola(ChainModel(tiny_model), query, layers)
    expected = reference_choice_scores(tiny_model, query, layers)
    assert outcome.scores == pytest.approx(expected, abs=1e-4)
    assert set(chosen) <= set(layers) and len(chosen) == len(query.targets)


def test_candidate_layers_follow_transformers():
    assert candidate_layers(30, "low", tied_embeddings=True) == [2, 4, 6, 8, 10, 12, 14]
    assert candidate_layers(30, "high", tied_embeddings=True) == [15, 17, 19, 21, 23, 25, 27, 29]
    assert candidate_layers(18, "low", tied_embeddings=True) == [2, 4, 6, 8]
    assert candidate_layers(18, "low", tied_embeddings=False) == [0, 2, 4, 6, 8]
    with pytest.raises(ValueError, match="unknown DoLa bucket 'middle'"):
        candidate_layers(30, "middle", tied_embeddings=True)


def test_the_plausibility_cut_keeps_the_final_layers_likely_tokens():
    final = torch.tensor([[4.0, 3.0, 0.0, -5.0]])
    contrast, chosen = dola_log_probs(final, {1: torch.zeros(1, 4)}, relative_top=0.1)
    assert chosen == [1]
    kept = final.log_softmax(-1) >= final.log_softmax(-1).max() + torch.log(torch.tensor(0.1))
    assert (contrast[~kept] == -1000.0).all() and (contrast[kept] > -1000.0).all()


def test_bad_premature_layers_are_refused(tiny_model, tokenizer):
    query = loglikelihood_query(ARC[2], tokenizer, chat=False)
    with pytest.raises(ValueError, match=r"premature layers must be among 0..3, got \[4\]"):
        choice_dola(ChainModel(tiny_model), query, [4])
