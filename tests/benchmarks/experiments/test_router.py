"""Router and static chain: library choice, routing on a toy set, intervals, and an end-to-end study."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.experiments.router import ChainRouter, chain_library
from benchmarks.experiments.router_file import load_router, save_router
from benchmarks.experiments.router_study import RouterStudy, run_router_study
from benchmarks.experiments.search_run import SearchRun, run_search
from benchmarks.experiments.stats import wilson_interval
from benchmarks.tasks import TaskConfig
from cola import ChainModel
from cola.engine import EngineConfig
from search import SearchConfig, StopRule
from tests.benchmarks.experiments.test_search_run import ARC_PATH
from tests.conftest import build_tiny_model


def test_library_ranks_chains_by_how_many_samples_they_fix():
    records = [
        {"n_layers": 4, "correct_chains": ["0-3", "0,2-3", "0-1,3"]},
        {"n_layers": 4, "correct_chains": ["0,2-3", "1-3"]},
        {"n_layers": 4, "correct_chains": ["0,2-3", "0-1,3", "0-3,3"]},
    ]
    assert chain_library(records, size=2) == [(0, 1, 2, 3), (0, 2, 3), (0, 1, 3)]


def test_router_routes_each_cluster_to_its_chain():
    library = [(0, 1, 2, 3), (0, 2, 3), (1, 2, 3)]
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:2]
    features = np.concatenate(
        [centres[0] + 0.05 * rng.standard_normal((20, 8)), centres[1] + 0.05 * rng.standard_normal((20, 8))]
    )
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    labels = np.zeros((40, 3))
    labels[:20, 1] = 1  # cluster 0: only chain 1 is right
    labels[20:, 0] = 1  # cluster 1: the full chain is right; chain 2 as well but no better
    labels[20:, 2] = 1
    router = ChainRouter(library, features, labels, neighbors=5)
    assert router.route(centres[0]) == 1
    assert router.route(centres[1]) == 0, "a tie with the full chain falls back to the full chain"


def test_wilson_interval():
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-3) and high == pytest.approx(0.5962, abs=1e-3)
    assert wilson_interval(0, 10)[0] == pytest.approx(0.0, abs=1e-12)


def test_router_study_end_to_end(tmp_path, tokenizer):
    chain_model = ChainModel(build_tiny_model("llama"))
    task = TaskConfig("arc_easy", path=ARC_PATH)
    config = SearchConfig(simulations=20, stop=StopRule(enabled=False))
    run_search(
        chain_model, tokenizer, task, SearchRun(model="tiny"), config, EngineConfig(), tmp_path / "train"
    )
    study = RouterStudy(
        train_run=str(tmp_path / "train"),
        n_test=5,
        library_size=3,
        neighbors=2,
        static_samples=3,
        static_simulations=10,
    )

    def study_run():
        return run_router_study(
            chain_model,
            tokenizer,
            task,
            study,
            EngineConfig(),
            tmp_path / "study",
            model_fingerprint="sha256:tiny",
        )

    result = study_run()
    assert (tmp_path / "study" / "router.safetensors").is_file()
    table = {row["policy"]: row for row in result["table"]}
    assert set(table) == {"full chain", "static chain", "router", "oracle (library)"}
    assert all(row["n"] == 5 for row in table.values())
    assert table["full chain"]["mean_length"] == 4
    assert table["oracle (library)"]["accuracy"] >= max(
        table["full chain"]["accuracy"], table["router"]["accuracy"]
    )
    assert result["library"][0] == "0-3"
    assert (tmp_path / "study" / "router_table.md").read_text().startswith("| policy |")
    # Rerunning reuses the saved rows and static chain and reproduces the same table.
    again = study_run()
    assert json.dumps(again["table"]) == json.dumps(result["table"])


def test_saved_router_routes_as_before_and_refuses_other_weights(tmp_path):
    rng = np.random.default_rng(1)
    features = rng.standard_normal((6, 16)).astype(np.float32)
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    router = ChainRouter([(0, 1, 2, 3), (0, 2, 3)], features, rng.integers(0, 2, (6, 2)).astype(float), 3, 2)
    path = tmp_path / "router.safetensors"
    save_router(router, path, fingerprint="sha256:abc", n_layers=4)
    loaded = load_router(path, fingerprint="sha256:abc", n_layers=4, hidden_size=16)
    assert loaded.library == router.library and (loaded.neighbors, loaded.feature_layers) == (3, 2)
    for probe in rng.standard_normal((10, 16)):
        assert loaded.route(probe) == router.route(probe)
    with pytest.raises(ValueError, match="trained on other weights"):
        load_router(path, fingerprint="sha256:def", n_layers=4, hidden_size=16)
    with pytest.raises(ValueError, match="16-wide features; the model's are 8"):
        load_router(path, fingerprint="sha256:abc", n_layers=4, hidden_size=8)
    with pytest.raises(FileNotFoundError, match="no router file"):
        load_router(tmp_path / "missing", fingerprint="sha256:abc", n_layers=4, hidden_size=16)
    (tmp_path / "junk.safetensors").write_bytes(b"not a router")
    with pytest.raises(ValueError, match="not a safetensors router file"):
        load_router(tmp_path / "junk.safetensors", fingerprint="sha256:abc", n_layers=4, hidden_size=16)
