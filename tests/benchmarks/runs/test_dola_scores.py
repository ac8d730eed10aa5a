"""DoLa against a direct implementation on transformers' own hidden states, token by token, as the
reference code computes it."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

from benchmarks.runs.dola_scores import choice_dola
from cola import ChainModel
from cola.dola import DolaPolicy, candidate_layers, dola_generate, dola_log_probs
from cola.policy import load_policy, save_policy
from tests.benchmarks.test_queries import ARC, loglikelihood_query


def reference_choice_scores(model, query, layers: list[int]) -> list[float]:
    """Each choice as its own row, each answer token's premature layer picked by the reference's
    divergence (``F.kl_div`` against the mixture), the contrast as its multiple-choice evaluation
    takes it (``post_softmax=False``, ``relative_top=0``)."""
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
            contrast = F.log_softmax(mature, -1) - F.log_softmax(picked, -1)
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
    assert torch.isinf(contrast[~kept]).all() and torch.isfinite(contrast[kept]).all()
    with pytest.raises(ValueError, match=r"relative_top must be in \[0, 1\), got 1.5"):
        dola_log_probs(final, {1: torch.zeros(1, 4)}, relative_top=1.5)


def test_bad_premature_layers_are_refused(tiny_model, tokenizer):
    query = loglikelihood_query(ARC[2], tokenizer, chat=False)
    with pytest.raises(ValueError, match=r"premature layers must be among 0..3, got \[4\]"):
        choice_dola(ChainModel(tiny_model), query, [4])


def reference_generate(model, ids: torch.Tensor, layers: list[int], steps: int) -> list[int]:
    """DoLa greedy decoding by full recompute on transformers' own forward, step by step, as
    transformers' port decodes: the reference's layer choice, the plausibility cut (0.1), the raw
    contrast, then transformers' repetition penalty (1.2) on it."""
    from transformers import RepetitionPenaltyLogitsProcessor

    penalty = RepetitionPenaltyLogitsProcessor(1.2)
    new = []
    for _ in range(steps):
        out = model(ids, output_hidden_states=True)
        mature = out.logits[0, -1]
        premature = torch.stack([model.lm_head(out.hidden_states[layer][0, -1]) for layer in layers])
        mixture = 0.5 * (F.softmax(mature, -1)[None] + F.softmax(premature, -1))
        kl1 = F.kl_div(F.log_softmax(mature, -1)[None], mixture, reduction="none").mean(-1)
        kl2 = F.kl_div(F.log_softmax(premature, -1), mixture, reduction="none").mean(-1)
        picked = premature[int((0.5 * (kl1 + kl2)).argmax())]
        # transformers' _relative_top_filter: implausible tokens -inf in the final layer's
        # distribution and -1e-3 in the premature one's, then the raw difference
        final, base = F.log_softmax(mature, -1), F.log_softmax(picked, -1)
        implausible = final < final.max() + math.log(0.1)
        final, base = final.masked_fill(implausible, -math.inf), base.masked_fill(implausible, -1e-3)
        contrast = final - base
        token = int(penalty(ids, contrast[None]).argmax())
        new.append(token)
        ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
    return new


@torch.inference_mode()
def test_dola_decoding_matches_full_recompute_on_transformers(tiny_model, token_ids):
    policy = DolaPolicy(layers=(0, 2))
    ids = token_ids[:1]
    ours = dola_generate(ChainModel(tiny_model), ids, policy, max_new_tokens=6, eos_token_id=[])
    assert ours[0, ids.shape[1] :].tolist() == reference_generate(tiny_model, ids, [0, 2], 6)


def test_a_dola_policy_file_round_trips_and_refuses_bad_layers(tmp_path, tiny_model):
    chain_model = ChainModel(tiny_model)
    save_policy(
        DolaPolicy((1, 3), 0.1, 1.2),
        tmp_path / "dola.safetensors",
        fingerprint="f",
        n_layers=4,
        trained_toward="validation",
    )
    assert load_policy(tmp_path / "dola.safetensors", chain_model, fingerprint="f") == DolaPolicy(
        (1, 3), 0.1, 1.2
    )
    save_policy(
        DolaPolicy((1, 7)),
        tmp_path / "bad.safetensors",
        fingerprint="f",
        n_layers=4,
        trained_toward="validation",
    )
    with pytest.raises(ValueError, match=r"DoLa layers \[1, 7\] are not among 0..3"):
        load_policy(tmp_path / "bad.safetensors", chain_model, fingerprint="f")


def test_evaluate_and_generate_run_a_dola_policy(tmp_path, tiny_checkpoint):
    from cola import load_model
    from cola.chainfile import weights_fingerprint
    from tests.benchmarks.runs.test_search_run import ARC_PATH, GSM_PATH, script

    fingerprint = weights_fingerprint(load_model(str(tiny_checkpoint)).model)
    path = tmp_path / "dola.safetensors"
    save_policy(DolaPolicy((0, 2)), path, fingerprint=fingerprint, n_layers=4, trained_toward="validation")
    common = [f"model.spec={tiny_checkpoint}", f"policy={path}", "limit=2", "threads=1", "progress=false"]
    arc = script(
        "evaluate.py",
        *common,
        "benchmark=arc_easy",
        f"benchmark.path={ARC_PATH}",
        f"hydra.run.dir={tmp_path / 'arc'}",
    )
    assert arc.returncode == 0, arc.stderr
    records = [json.loads(line) for line in (tmp_path / "arc/results.jsonl").read_text().splitlines()]
    assert [r["chain"] for r in records] == ["0-3", "0-3"] and all(r["premature_layers"] for r in records)
    gsm = script(
        "evaluate.py",
        *common,
        "benchmark=gsm8k",
        f"benchmark.path={GSM_PATH}",
        "benchmark.max_new_tokens=4",
        f"hydra.run.dir={tmp_path / 'gsm'}",
    )
    assert gsm.returncode == 0, gsm.stderr
    assert json.loads((tmp_path / "gsm/summary.json").read_text())["n"] == 2
    text = script(
        "generate.py", f"model.spec={tiny_checkpoint}", f"policy={path}", "prompt=the cat", "max_new_tokens=3"
    )
    assert text.returncode == 0 and "DoLa against layers [0, 2]" in text.stderr, text.stderr


@torch.inference_mode()
def test_dola_decoding_streams_each_token_once_and_stops_at_eos(tiny_model, token_ids):
    chain_model, ids = ChainModel(tiny_model), token_ids[:1]
    streamed = []
    full = dola_generate(
        chain_model,
        ids,
        DolaPolicy((0, 2)),
        max_new_tokens=5,
        eos_token_id=[],
        on_token=lambda tokens: streamed.append(int(tokens[0])),
    )
    assert streamed == full[0, ids.shape[1] :].tolist()
    first = streamed[0]
    stopped = dola_generate(chain_model, ids, DolaPolicy((0, 2)), max_new_tokens=5, eos_token_id=first)
    assert stopped[0, ids.shape[1] :].tolist() == [first]
    with pytest.raises(ValueError, match="max_new_tokens must be >= 1, got 0"):
        dola_generate(chain_model, ids, DolaPolicy((0, 2)), max_new_tokens=0)
