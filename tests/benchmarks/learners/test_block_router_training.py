"""Router training: class weights, a separable rule learned, and training end to end on a tiny model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.learners.block_router_training import (
    RouterTraining,
    class_weights,
    fit_block_router,
    train_block_router_policy,
)
from benchmarks.runs.evaluate import RunInfo, evaluate
from benchmarks.runs.search_run import SearchRun, run_search
from benchmarks.tasks import TaskConfig
from cola import ChainModel
from cola.block_router import layer_blocks
from cola.engine import EngineConfig
from cola.policy import BlockRouter, load_policy
from search import SearchConfig, StopRule
from tests.benchmarks.runs.test_search_run import ARC_PATH
from tests.conftest import build_tiny_model


def test_class_weights_balance_each_blocks_classes():
    decisions = np.array([[1, 1], [1, 0], [1, 0], [0, 2]])
    weights = class_weights(decisions)
    assert weights[0].tolist() == pytest.approx([4 / 2, 4 / 6, 0.0])  # 1 skip, 3 execute, no repeat
    assert weights[1].tolist() == pytest.approx([4 / 6, 4 / 3, 4 / 3])
    for block in range(2):  # averaging 1 over the block's samples
        assert weights[block][decisions[:, block]].mean() == pytest.approx(1.0)


def test_the_fit_learns_a_separable_rule():
    rng = np.random.default_rng(0)
    features = rng.standard_normal((300, 3, 8))
    decisions = np.stack(
        [(features[:, k, 0] > 0).astype(int) + (features[:, k, 1] > 1.0) for k in range(3)], axis=1
    )
    decisions = np.minimum(decisions, 2)
    router = fit_block_router(features, decisions, layer_blocks(3, 1), RouterTraining(hidden=16, epochs=400))
    predicted = np.array([[router.decide(k, features[n, k]) for k in range(3)] for n in range(300)])
    assert (predicted == decisions).mean() > 0.95


def test_training_end_to_end_on_a_tiny_model(tmp_path, tokenizer):
    chain_model = ChainModel(build_tiny_model("llama"))
    task = TaskConfig("arc_easy", split="train", path=ARC_PATH)
    config = SearchConfig(name="descent", simulations=20, stop=StopRule(enabled=False))
    run_search(
        chain_model, tokenizer, task, SearchRun(model="tiny"), config, EngineConfig(), tmp_path / "search"
    )
    summary = train_block_router_policy(
        chain_model,
        tokenizer,
        task,
        tmp_path / "search",
        RouterTraining(hidden=8, epochs=50),
        tmp_path / "router",
        model_fingerprint="sha256:tiny",
    )
    assert summary["questions"] + len(summary["dropped"]) == 5
    assert sum(summary["decision_shares"].values()) == pytest.approx(1.0)
    assert json.loads((tmp_path / "router" / "training.json").read_text()) == summary
    router = load_policy(
        tmp_path / "router" / "block_router.safetensors", chain_model, fingerprint="sha256:tiny"
    )
    assert isinstance(router, BlockRouter)
    evaluate(
        chain_model,
        tokenizer,
        TaskConfig("arc_easy", path=ARC_PATH),
        RunInfo("tiny", None, policy=router),
        tmp_path / "eval",
    )
    with pytest.raises(ValueError, match="training.target=faithful needs a search run rewarding it"):
        train_block_router_policy(
            chain_model,
            tokenizer,
            task,
            tmp_path / "search",
            RouterTraining(target="faithful"),
            tmp_path / "r1",
            model_fingerprint="sha256:tiny",
        )
    test_search = TaskConfig("arc_easy", split="test", path=ARC_PATH)
    run_search(
        chain_model,
        tokenizer,
        test_search,
        SearchRun(model="tiny"),
        config,
        EngineConfig(),
        tmp_path / "test_search",
    )
    with pytest.raises(ValueError, match="searched test questions"):
        train_block_router_policy(
            chain_model,
            tokenizer,
            test_search,
            tmp_path / "test_search",
            RouterTraining(),
            tmp_path / "r2",
            model_fingerprint="sha256:tiny",
        )
