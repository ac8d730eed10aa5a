"""The `cola` model for lm-evaluation-harness: lm-eval's own request flow, against independent
references (a plain HF forward; lm-eval's `hf` model and our harness on the real model, slow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

lm_eval = pytest.importorskip("lm_eval", reason="the lmeval extra: pip install -e '.[lmeval]'")

from lm_eval.api.instance import Instance  # noqa: E402

from benchmarks.lm_eval_model import ColaLM  # noqa: E402
from cola.chainfile import weights_fingerprint  # noqa: E402
from cola.choice_calibration import CHOICE_FEATURES, ChoiceCalibration  # noqa: E402
from cola.dola import DolaPolicy  # noqa: E402
from cola.policy import KnnRouter, save_policy  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def request(kind: str, args: tuple) -> Instance:
    return Instance(request_type=kind, doc={}, arguments=args, idx=0)


@pytest.fixture(scope="module")
def cola_lm(tiny_checkpoint):
    return ColaLM(model=str(tiny_checkpoint))


def test_loglikelihood_equals_a_plain_forward_on_the_identity_chain(cola_lm):
    pairs = [
        ("Question : Tom has 3 apples", " 7"),
        ("Question : Tom has 3 apples", " 4 more"),
        ("The", " answer"),
    ]
    results = cola_lm.loglikelihood([request("loglikelihood", pair) for pair in pairs])
    model = cola_lm.chain_model.model
    for (context, continuation), (score, greedy) in zip(pairs, results, strict=True):
        context_ids = cola_lm.tok_encode(context)
        whole = cola_lm.tok_encode(context + continuation)
        target = whole[len(context_ids) :]
        with torch.inference_mode():
            log_probs = torch.log_softmax(model(torch.tensor([whole[:-1]])).logits[0].float(), dim=-1)
        expected = log_probs[len(context_ids) - 1 :].gather(-1, torch.tensor(target)[:, None])
        assert score == pytest.approx(float(expected.sum()), abs=1e-4)
        assert greedy == bool((log_probs[len(context_ids) - 1 :].argmax(-1) == torch.tensor(target)).all())


def test_batched_contexts_score_as_one_at_a_time(tiny_checkpoint, cola_lm):
    pairs = [
        ("Question : Tom has 3 apples", " 7"),
        ("Question : Tom has 3 apples", " 4 more"),
        ("The", " answer"),
        ("A much longer context than the others , to pad the rest", " yes"),
        ("Short", " no"),
    ]
    batched = ColaLM(model=str(tiny_checkpoint), batch_size=3)
    one_by_one = cola_lm.loglikelihood([request("loglikelihood", pair) for pair in pairs])
    together = batched.loglikelihood([request("loglikelihood", pair) for pair in pairs])
    for (score, greedy), (expected, expected_greedy) in zip(together, one_by_one, strict=True):
        assert score == pytest.approx(expected, abs=1e-4) and greedy == expected_greedy


def test_a_chain_changes_the_scores_and_a_comma_split_chain_is_refused(tiny_checkpoint, cola_lm):
    pair = request("loglikelihood", ("Question : Tom has 3 apples", " 7"))
    skipped = ColaLM(model=str(tiny_checkpoint), chain="0;2;3")
    assert skipped.chain == (0, 2, 3)
    assert skipped.loglikelihood([pair])[0][0] != cola_lm.loglikelihood([pair])[0][0]
    with pytest.raises(ValueError, match="separate chain segments with ';'"):
        ColaLM(model=str(tiny_checkpoint), chain="0", **{"2": "", "3": ""})


def test_a_router_runs_the_chain_it_picks_for_each_context(tmp_path, tiny_checkpoint, cola_lm):
    hidden = cola_lm.chain_model.config.hidden_size
    features = np.eye(hidden, dtype=np.float32)[:4]
    labels = np.array([[0.0, 1.0]] * 4)  # every training question: only the skip chain is right
    router = KnnRouter([(0, 1, 2, 3), (0, 2, 3)], features, labels, neighbors=2, feature_layers=1)
    path = tmp_path / "router.safetensors"
    fingerprint = weights_fingerprint(cola_lm.chain_model.model)
    save_policy(router, path, fingerprint=fingerprint, n_layers=4, trained_toward="gold")
    routed = ColaLM(model=str(tiny_checkpoint), router=str(path))
    skipped = ColaLM(model=str(tiny_checkpoint), chain="0;2;3")
    pairs = [
        request("loglikelihood", ("Question : Tom has 3 apples", " 7")),
        request("loglikelihood", ("The", " end")),
    ]
    assert routed.loglikelihood(pairs) == skipped.loglikelihood(pairs)
    assert routed.routed == [(0, 2, 3), (0, 2, 3)]
    assert ColaLM(model=str(tiny_checkpoint), policy=str(path)).loglikelihood(pairs) == routed.loglikelihood(
        pairs
    )
    with pytest.raises(ValueError, match=r"give one of chain=, chain_file= and policy= \(router=\)"):
        ColaLM(model=str(tiny_checkpoint), chain="0;2;3", router=str(path))
    save_policy(router, path, fingerprint="sha256:other", n_layers=4, trained_toward="gold")
    with pytest.raises(ValueError, match="trained on other weights"):
        ColaLM(model=str(tiny_checkpoint), router=str(path))


def test_generate_until_stops_at_the_stop_string_and_matches_greedy_generate(cola_lm):
    context = "Question : Tom has 3 apples"
    free = cola_lm.generate_until([request("generate_until", (context, {"max_gen_toks": 6}))])[0]
    ids = torch.tensor([cola_lm.tok_encode(context)])
    reference = cola_lm.chain_model.model.generate(ids, do_sample=False, max_new_tokens=6)
    assert free == cola_lm.tokenizer.decode(reference[0, ids.shape[1] :], skip_special_tokens=True)
    words = free.split()
    assert len(words) > 1  # the random model rambles: there is a second word to stop at
    cut = cola_lm.generate_until(
        [request("generate_until", (context, {"max_gen_toks": 6, "until": [words[1]]}))]
    )
    assert words[1] not in cut[0] and free.startswith(cut[0])


def per_question_loglikelihoods(model: str, model_args: dict, limit: int) -> list[list[float]]:
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    results = simple_evaluate(
        model=model,
        model_args=model_args,
        tasks=["cola_arc_easy"],
        limit=limit,
        log_samples=True,
        device="cpu",
        task_manager=TaskManager(include_path=str(ROOT / "benchmarks/lm_eval_tasks")),
    )
    samples = sorted(results["samples"]["cola_arc_easy"], key=lambda sample: sample["doc_id"])
    return [[float(resp[0][0]) for resp in sample["resps"]] for sample in samples]


@pytest.mark.slow
def test_identity_chain_matches_lm_evals_hf_model_and_our_harness(monkeypatch):
    from benchmarks.evaluator import ChainEvaluator
    from benchmarks.tasks import TaskConfig, build_query, load_examples
    from cola import ChainModel, load_model
    from cola.loading import EMBEDDED, _checkpoint_from_gguf, embedded_gguf_path

    monkeypatch.chdir(ROOT)  # the task files name the vendored data relative to the repository
    limit = 8
    ours = per_question_loglikelihoods("cola", {"model": "smollm2"}, limit)
    checkpoint = _checkpoint_from_gguf(embedded_gguf_path(EMBEDDED["smollm2"]))
    hf = per_question_loglikelihoods("hf", {"pretrained": str(checkpoint), "dtype": "float32"}, limit)
    loaded = load_model("smollm2")
    task = TaskConfig("arc_easy")
    harness = []
    for example in load_examples(task, limit=limit):
        evaluator = ChainEvaluator(
            ChainModel(loaded.model), loaded.tokenizer, build_query(example, loaded.tokenizer, task)
        )
        harness.append(evaluator.outcome(tuple(range(loaded.n_layers)))["scores"])
    for cola_scores, hf_scores, harness_scores in zip(ours, hf, harness, strict=True):
        assert cola_scores == pytest.approx(hf_scores, abs=2e-3)
        assert cola_scores == pytest.approx(harness_scores, abs=2e-3)
        assert max(range(len(hf_scores)), key=hf_scores.__getitem__) == max(
            range(len(cola_scores)), key=cola_scores.__getitem__
        )


def test_a_choice_calibration_is_refused_since_lm_eval_scores_choices_alone(
    tmp_path, tiny_checkpoint, cola_lm
):
    features = len(CHOICE_FEATURES)
    calibration = ChoiceCalibration(np.ones(features), np.zeros(features), np.ones(features))
    path = tmp_path / "calibration.safetensors"
    fingerprint = weights_fingerprint(cola_lm.chain_model.model)
    save_policy(calibration, path, fingerprint=fingerprint, n_layers=4, trained_toward="gold")
    with pytest.raises(ValueError, match="cannot apply one: use scripts/evaluate.py"):
        ColaLM(model=str(tiny_checkpoint), policy=str(path))


def test_a_dola_policy_is_refused_with_where_it_runs(tmp_path, tiny_checkpoint, cola_lm):
    path = tmp_path / "dola.safetensors"
    fingerprint = weights_fingerprint(cola_lm.chain_model.model)
    save_policy(DolaPolicy((0, 2)), path, fingerprint=fingerprint, n_layers=4, trained_toward="validation")
    with pytest.raises(ValueError, match="DoLa policy, which changes how tokens are scored"):
        ColaLM(model=str(tiny_checkpoint), policy=str(path))
