"""Unsteered depth: records of every chain's deciding scores, equal to an independent naive
evaluation, and depth read from them for both targets with censoring."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.analysis.unsteered_depth import depth, depth_curve
from benchmarks.evaluator import ChainEvaluator
from benchmarks.runs.chain_sets import UnsteeredRun, run_unsteered
from benchmarks.tasks import TaskConfig, build_query, load_examples
from cola import ChainModel, parse_chain
from cola.engine import EngineConfig
from tests.benchmarks.runs.test_search_run import ARC_PATH
from tests.conftest import build_tiny_model


@pytest.fixture
def prior(tmp_path):
    path = tmp_path / "prior.json"
    edits = [
        {"kind": "skip", "layer": layer, "size": 1, "score": 0.0, "keep": keep}
        for layer, keep in ((2, 0.9), (1, 0.5))
    ]
    path.write_text(
        json.dumps({"format": "cola-edit-prior", "n_layers": 4, "split": "validation", "edits": edits})
    )
    return str(path)


def test_recorded_scores_equal_a_naive_evaluation_and_the_run_resumes(tmp_path, tokenizer, prior):
    chain_model = ChainModel(build_tiny_model("llama"))
    task = TaskConfig("arc_easy", path=ARC_PATH)
    run = UnsteeredRun(model="tiny", prior_file=prior, limit=3)
    records = run_unsteered(chain_model, tokenizer, task, run, EngineConfig(), tmp_path)
    assert len(records) == 3
    record = records[0]
    assert record["kinds"] == ["full", "path", "path", "path", "random", "random", "random"]
    assert record["chains"][1:4] == ["0-1,3", "0,3", "3"]  # keep order 2, 1, then 0 (ties by layer), 3
    example = load_examples(task, limit=1)[0]
    naive = ChainEvaluator(
        chain_model, tokenizer, build_query(example, tokenizer, task), EngineConfig(reuse_prefixes=False)
    )
    for text, scores in zip(record["chains"], record["scores"], strict=True):
        assert naive.outcome(parse_chain(text, 4))["scores"] == pytest.approx(scores, abs=1e-4)
    assert (
        run_unsteered(chain_model, tokenizer, task, run, EngineConfig(), tmp_path) == records
    )  # nothing redone


def test_depth_reads_each_target_from_the_same_chains_and_censors_the_unmet():
    record = {
        "n_layers": 4,
        "kinds": ["full", "path", "path", "random"],
        "lengths": [4, 3, 2, 1],
        "scores": [[0.0, -1.0, -5.0], [0.0, -1.01, -5.0], [-1.0, 0.0, -5.0], [-3.0, -3.0, 0.0]],
    }
    assert depth(record, "faithful", 0.01, ("path",)) == 3  # the 3-layer chain is within 0.01 nats
    assert depth(record, "faithful", 0.0, ("path",)) == 4  # only the full chain itself
    assert depth(record, "reach", 0.01, ("path",)) == 2  # the swap of the two most likely: met at 2
    assert depth(record, "reach", 0.01, ("random",)) is None  # censored
    curve = depth_curve([record, record], "reach", 0.01, ("random",))
    assert curve["censored"] == 1.0 and curve["median"] is None and curve["within"] == [0.0] * 4
    assert np.isclose(depth_curve([record], "faithful", 0.01, ("path",))["within"][2], 1.0)
