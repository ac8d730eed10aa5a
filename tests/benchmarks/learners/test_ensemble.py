"""Chain ensembles: scores are the mean of separate forward passes; libraries and random ensembles
are built as documented; the build script reads a race run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.learners.ensemble import random_ensemble, top_chains
from benchmarks.runner import answer_choice
from benchmarks.runs.ensemble_scores import ensemble_fields
from benchmarks.runs.evaluate import RunInfo, evaluate
from benchmarks.tasks import TaskConfig, build_queries, load_examples
from cola import ChainModel
from cola.policy import ChainEnsemble, load_policy
from tests.benchmarks.learners.test_static_chain import learn
from tests.benchmarks.runs.test_search_run import ARC_PATH, script
from tests.conftest import build_tiny_model


def test_ensemble_scores_are_the_mean_of_separate_forward_passes(tokenizer):
    chain_model = ChainModel(build_tiny_model("llama"))
    task = TaskConfig("arc_easy", path=ARC_PATH, metric="acc")
    ensemble = ChainEnsemble(((0, 1, 2, 3), (0, 2, 3), (0, 1, 1, 3)))
    for query in build_queries(load_examples(task), tokenizer, task):
        fields = ensemble_fields(chain_model, tokenizer, query, ensemble)
        separate = [
            answer_choice(chain_model, query, chain) for chain in ensemble.chains
        ]  # row form, no engine
        mean = np.mean([outcome.scores for outcome in separate], axis=0)
        assert fields["scores"] == pytest.approx(mean.tolist(), abs=1e-4)
        assert fields["member_predictions"] == [outcome.prediction for outcome in separate]
        assert fields["prediction"] == int(np.argmax(mean)) and fields["correct"] == (
            fields["prediction"] == query.gold
        )
        assert fields["prediction_norm"] == int(np.argmax(mean / np.array(query.choice_chars)))


def test_top_and_random_ensembles():
    accuracy = {(0, 1, 2, 3): 0.5, (0, 2, 3): 0.6, (1, 2, 3): 0.6, (0, 1, 3): 0.4}
    assert top_chains(accuracy, 2).chains == ((0, 2, 3), (1, 2, 3))
    with pytest.raises(ValueError, match="needs 5 chains"):
        top_chains(accuracy, 5)
    ensemble = random_ensemble(6, 4, seed=0)
    assert len(set(ensemble.chains)) == 4 and all(len(chain) >= 1 for chain in ensemble.chains)
    assert random_ensemble(6, 4, seed=0) == ensemble != random_ensemble(6, 4, seed=1)


def test_build_script_reads_a_race_and_evaluate_runs_the_ensemble(tmp_path, tokenizer):
    chain_model = ChainModel(build_tiny_model("llama"))
    learn(tmp_path, tokenizer, chain_model)  # a race on the five fixture questions, screening 3
    out = tmp_path / "top2.safetensors"
    done = script("build_ensemble.py", str(tmp_path / "run"), "--size", "2", "--out", str(out))
    assert done.returncode == 0, done.stderr
    accuracy = json.loads(done.stdout)
    assert len(accuracy) == 2 and all(0 <= value <= 1 for value in accuracy.values())
    ensemble = load_policy(out, chain_model, fingerprint="sha256:tiny")
    assert isinstance(ensemble, ChainEnsemble)
    evaluate(
        chain_model,
        tokenizer,
        TaskConfig("arc_easy", path=ARC_PATH),
        RunInfo("tiny", None, policy=ensemble),
        tmp_path / "eval",
    )
    records = [json.loads(line) for line in (tmp_path / "eval" / "results.jsonl").read_text().splitlines()]
    assert {r["chain"] for r in records} == {"+".join(accuracy)}
    assert {r["chain_length"] for r in records} == {sum(len(chain) for chain in ensemble.chains)}

    # The run's records give its first member alone: the same as evaluating that one chain's ensemble.
    cut = script(
        "studies/sub_ensemble.py", str(tmp_path / "eval"), "--size", "1", "--out", str(tmp_path / "first")
    )
    assert cut.returncode == 0, cut.stderr
    first = ChainEnsemble(ensemble.chains[:1])
    evaluate(
        chain_model,
        tokenizer,
        TaskConfig("arc_easy", path=ARC_PATH),
        RunInfo("tiny", None, policy=first),
        tmp_path / "direct",
    )
    derived, direct = (
        [json.loads(line) for line in (tmp_path / name / "results.jsonl").read_text().splitlines()]
        for name in ("first", "direct")
    )
    for mine, theirs in zip(derived, direct, strict=True):
        assert mine["scores"] == pytest.approx(theirs["scores"], abs=1e-5)
        assert (mine["prediction"], mine["chain"], mine["chain_length"]) == (
            theirs["prediction"],
            theirs["chain"],
            theirs["chain_length"],
        )
        assert mine["seconds"] is None
    too_many = script(
        "studies/sub_ensemble.py", str(tmp_path / "eval"), "--size", "3", "--out", str(tmp_path / "x")
    )
    assert too_many.returncode != 0 and "3 are needed" in too_many.stderr


def test_ensembles_nest_so_the_largest_run_gives_the_smaller():
    assert random_ensemble(30, 8, seed=3).chains[:4] == random_ensemble(30, 4, seed=3).chains
    accuracy = {(0, 1, 2, 3): 0.5, (0, 2, 3): 0.6, (1, 2, 3): 0.6, (0, 1, 3): 0.4}
    assert top_chains(accuracy, 3).chains[:2] == top_chains(accuracy, 2).chains
