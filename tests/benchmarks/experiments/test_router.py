"""Router and static chain: library choice, routing on a toy set, intervals, and an end-to-end study."""

from __future__ import annotations

import json

import pytest

from benchmarks.experiments.router import chain_library
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
