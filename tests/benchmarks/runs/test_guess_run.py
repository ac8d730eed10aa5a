"""The model's own tries run through the search harness: same records, twin, resume, stale refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.analysis.search_summary import summarize_search
from benchmarks.results import SettingsMismatch
from benchmarks.runs.guess_run import load_matched_temperature
from benchmarks.runs.search_run import SearchRun, run_search
from benchmarks.tasks import TaskConfig
from cola import ChainModel
from cola.engine import EngineConfig
from search import SearchConfig
from search.guesses import choice_distribution
from tests.conftest import build_tiny_model

ROOT = Path(__file__).resolve().parents[3]
ARC = TaskConfig("arc_easy", path=str(ROOT / "tests/fixtures/arc_mixed.jsonl"))
GSM = TaskConfig(
    "gsm8k", mode="direct", max_new_tokens=6, path=str(ROOT / "tests/fixtures/gsm8k_small.jsonl")
)


@pytest.fixture(scope="module")
def chain_model():
    return ChainModel(build_tiny_model("llama"))


def records_of(chain_model, tokenizer, output_dir, config: SearchConfig, task=ARC) -> list[dict]:
    run_search(chain_model, tokenizer, task, SearchRun(model="tiny"), config, EngineConfig(), output_dir)
    return [json.loads(line) for line in (output_dir / "results.jsonl").read_text().splitlines()]


def test_rank_tries_the_runner_up_first_and_its_twin_reads_the_same_tries(tmp_path, chain_model, tokenizer):
    records = records_of(
        chain_model, tokenizer, tmp_path, SearchConfig(name="rank", simulations=2, control="placebo")
    )
    assert len(records) == 5
    for record in records:
        assert len(record["full_scores"]) == len(record["continuation_ids"])
        tried = record["predictions"][1:]
        assert len(tried) == min(2, len(record["full_scores"]) - 1)
        assert [record["full_scores"][choice] for choice in tried] == sorted(
            (record["full_scores"][choice] for choice in tried), reverse=True
        )
        # Ranked tries reach gold exactly at gold's rank, when the budget gets that far.
        expected = record["gold_rank"] if record["gold_rank"] <= 2 else None
        assert record["first_correct_evaluation"] == expected
        assert record["best_length"] == (4 if expected is not None else None)
        if record["original_correct"] or record["placebo"] is None:
            assert "placebo_first_correct_evaluation" not in record
        else:
            placebo_expected = record["placebo_rank"] if record["placebo_rank"] <= 2 else None
            assert record["placebo_first_correct_evaluation"] == placebo_expected
            assert record["placebo_predictions"] == record["predictions"]
            assert record["placebo_extra_chains"] == 0
    summary = summarize_search(records)
    assert summary["search"] == "rank" and summary["n"] == 5
    assert summary["shortening_rate"] == 0.0  # the model's own tries never shorten a chain


def test_sample_draws_from_the_full_chain_resumes_and_refuses_another_temperature(
    tmp_path, chain_model, tokenizer
):
    config = SearchConfig(name="sample", simulations=25, temperature=2.0)
    first = records_of(chain_model, tokenizer, tmp_path, config)
    assert all(len(r["predictions"]) == 26 and r["n_evaluated"] == 26 for r in first)
    assert all(r["temperature"] == 2.0 and r["try_seconds"] < 0.01 for r in first)
    # Draws land where the full chain's distribution puts them (loosely: 125 draws in all).
    draws = sum(len(r["predictions"]) - 1 for r in first)
    drawn_top = sum(p == r["original_prediction"] for r in first for p in r["predictions"][1:])
    expected = sum(max(choice_distribution(r["full_scores"], 2.0)) * 25 for r in first)
    assert abs(drawn_top - expected) < 0.2 * draws
    again = records_of(chain_model, tokenizer, tmp_path, config)  # resumes: nothing redrawn
    assert [r["predictions"] for r in again] == [r["predictions"] for r in first]
    with pytest.raises(SettingsMismatch, match="temperature"):
        records_of(
            chain_model, tokenizer, tmp_path, SearchConfig(name="sample", simulations=25, temperature=1.0)
        )


def test_sample_matched_reads_a_validation_temperature_and_refuses_test_or_other_models(tmp_path):
    chosen = {"temperature": 1.7, "split": "validation", "model": "tiny", "benchmark": "arc_easy"}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(chosen))
    assert load_matched_temperature(str(path), model="tiny", benchmark="arc_easy") == 1.7
    with pytest.raises(ValueError, match="model 'tiny', not 'other'"):
        load_matched_temperature(str(path), model="other", benchmark="arc_easy")
    path.write_text(json.dumps(chosen | {"split": "test"}))
    with pytest.raises(ValueError, match="test split"):
        load_matched_temperature(str(path), model="tiny", benchmark="arc_easy")
    with pytest.raises(FileNotFoundError, match="match_temperature.py"):
        load_matched_temperature(str(tmp_path / "none.json"), model="tiny", benchmark="arc_easy")
    with pytest.raises(ValueError, match="temperature_file"):
        SearchConfig(name="sample_matched")


def test_sample_on_generation_samples_decodes_and_rank_is_refused(tmp_path, chain_model, tokenizer):
    records = records_of(
        chain_model, tokenizer, tmp_path / "s", SearchConfig(name="sample", simulations=3), task=GSM
    )
    assert records and all(len(r["predictions"]) == 4 and "full_scores" not in r for r in records)
    # A temperature-sampled decode of a random tiny model differs from the greedy one somewhere.
    assert any(p != r["predictions"][0] for r in records for p in r["predictions"][1:])
    with pytest.raises(ValueError, match="search=rank ranks the choices"):
        records_of(chain_model, tokenizer, tmp_path / "r", SearchConfig(name="rank", simulations=3), task=GSM)
