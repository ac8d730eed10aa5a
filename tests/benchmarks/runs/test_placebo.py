"""The placebo-paired control: the placebo is a fair null, the twin search is the same search aimed
at it, and every placebo rate in the summary is what the records say."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.analysis.search_summary import summarize_search
from benchmarks.analysis.stats import (
    mcnemar_exact,
    paired_bootstrap_interval,
    sign_flip_p,
    wilson_interval,
)
from benchmarks.evaluator import ChainEvaluator
from benchmarks.reports.search_report import write_report
from benchmarks.runs.search_run import SearchRun, draw_placebo, run_search
from benchmarks.tasks import TaskConfig, build_query, load_examples
from cola import ChainModel, parse_chain
from cola.engine import EngineConfig
from search import SearchConfig, StopRule
from tests.benchmarks.runs.test_search_run import ARC_PATH, read_jsonl
from tests.conftest import build_tiny_model

TASK = TaskConfig("arc_easy", path=ARC_PATH)


@pytest.mark.parametrize("n_choices", [2, 3, 4, 5])
def test_placebo_is_never_gold_nor_the_full_chains_prediction(n_choices):
    rng = np.random.default_rng(0)
    for gold in range(n_choices):
        for prediction in range(n_choices):
            drawn = {draw_placebo(gold, prediction, n_choices, rng) for _ in range(60)}
            expected = set(range(n_choices)) - {gold, prediction}
            assert drawn == (expected or {None})  # every other choice is drawn, and nothing else


@pytest.fixture(scope="module")
def placebo_run(tmp_path_factory, tokenizer):
    """Seeds 0-2 of the tiny model on the ARC fixture, with the twin, early stop on."""
    chain_model = ChainModel(build_tiny_model("llama", seed=3))
    config = SearchConfig(simulations=40, control="placebo")
    runs = {}
    for seed in range(3):
        out = tmp_path_factory.mktemp(f"placebo{seed}")
        run_search(
            chain_model, tokenizer, TASK, SearchRun(model="tiny", seed=seed), config, EngineConfig(), out
        )
        runs[seed] = out
    return chain_model, runs


def test_twin_records_aim_at_the_placebo(placebo_run, tokenizer):
    chain_model, runs = placebo_run
    queries = {e.id: build_query(e, tokenizer, TASK) for e in load_examples(TASK)}
    twins = 0
    for out in runs.values():
        for record in read_jsonl(out / "results.jsonl"):
            assert record["placebo"] not in (record["gold"], record["original_prediction"])
            if record["original_correct"] or record["placebo"] is None:
                assert "placebo_best_chain" not in record  # rates are over originally-wrong samples
                continue
            twins += 1
            evaluator = ChainEvaluator(chain_model, tokenizer, queries[record["id"]])
            for text in record["placebo_correct_chains"]:
                assert evaluator.outcome(parse_chain(text, 4))["prediction"] == record["placebo"]
            for text in record["correct_chains"]:
                assert evaluator.outcome(parse_chain(text, 4))["prediction"] == record["gold"]
    assert twins >= 3, "the fixture must hold originally-wrong samples for this test to mean anything"


def test_placebo_rates_are_recomputed_from_the_records(placebo_run):
    _, runs = placebo_run
    for out in runs.values():
        records = read_jsonl(out / "results.jsonl")
        summary = json.loads((out / "summary.json").read_text())["placebo"]
        paired = [r for r in records if not r["original_correct"] and r["placebo"] is not None]
        gold = [r["best_chain"] is not None for r in paired]
        placebo = [r["placebo_best_chain"] is not None for r in paired]
        assert summary["n_placebo_pairs"] == len(paired)
        assert summary["placebo_correction_rate"] == pytest.approx(np.mean(placebo))
        assert summary["genuine_correction"] == pytest.approx(np.mean(gold) - np.mean(placebo))
        assert summary["genuine_correction_p"] == mcnemar_exact(gold, placebo)
        # Lengths toward gold and toward the placebo average the same samples: where both were reached.
        both = [r for r in paired if r["best_chain"] is not None and r["placebo_best_chain"] is not None]
        assert summary["mean_best_length_n_both"] == len(both) > 0
        assert summary["mean_best_length_placebo"] == pytest.approx(
            np.mean([r["placebo_best_length"] for r in both])
        )
        assert summary["mean_best_length_gold"] == pytest.approx(np.mean([r["best_length"] for r in both]))
        assert summary == summarize_search(records)["placebo"]
        within_10 = [
            r["placebo_first_correct_evaluation"] is not None and r["placebo_first_correct_evaluation"] <= 10
            for r in paired
        ]
        assert summary["by_budget"]["10"]["placebo_correction_rate"] == pytest.approx(np.mean(within_10))
        # A 40-simulation run reports no rate "within 50": it would repeat its rate at 40.
        spent = max(max(r["n_evaluated"] - 1, r["iterations"], r["placebo_n_evaluated"] - 1) for r in paired)
        assert set(summary["by_budget"]) == {str(b) for b in (1, 5, 10, 25, 50, 100, 200) if b <= spent}
        assert "50" not in summary["by_budget"] and spent <= 40


def test_report_leads_with_the_genuine_figures(placebo_run, tmp_path):
    _, runs = placebo_run
    report = write_report({"seed0": runs[0], "seed1": runs[1]}, tmp_path).read_text()
    assert report.index("genuine correction") < report.index("| samples |")
    assert "correction toward the placebo" in report and "McNemar" in report
    assert "seed0 vs seed1" in report and "  - within 10: genuine correction" in report
    for png in ("correction_by_budget.png", "layer_usage-seed0.png", "layer_usage-seed1.png"):
        assert (tmp_path / png).stat().st_size > 1000


def test_placebo_needs_a_multiple_choice_task(tmp_path, tokenizer):
    chain_model = ChainModel(build_tiny_model("llama"))
    with pytest.raises(ValueError, match="needs a multiple-choice benchmark, not gsm8k"):
        run_search(
            chain_model,
            tokenizer,
            TaskConfig("gsm8k", mode="direct", path="tests/fixtures/gsm8k_small.jsonl"),
            SearchRun(model="tiny"),
            SearchConfig(simulations=2, control="placebo", stop=StopRule(enabled=False)),
            EngineConfig(),
            tmp_path,
        )
    assert not (tmp_path / "results.jsonl").exists()


def test_intervals_and_tests_have_their_textbook_values():
    low, high = wilson_interval(50, 100)
    assert (low, high) == (pytest.approx(0.4038, abs=1e-4), pytest.approx(0.5962, abs=1e-4))
    assert wilson_interval(0, 0) is None
    assert mcnemar_exact([True] * 10, [False] * 10) == pytest.approx(2 / 1024)  # 10 vs 0 discordant
    assert mcnemar_exact([True, False] * 5, [False, True] * 5) == 1.0
    assert sign_flip_p([1.0] * 10, [0.0] * 10) == pytest.approx(2 / 1024, abs=0.002)  # exact: 2 of 2^10
    assert sign_flip_p([1.0, 0.0] * 5, [0.0, 1.0] * 5) == 1.0
    first, second = [1.0] * 30 + [0.0] * 10, [1.0] * 20 + [0.0] * 20
    low, high = paired_bootstrap_interval(first, second)
    assert low < 0.25 < high and low > 0  # the mean difference, clear of zero


def test_placebo_all_twins_the_correct_samples_too_and_reports_the_shortening_control(tmp_path, tokenizer):
    chain_model = ChainModel(build_tiny_model("llama", seed=0))  # 3 correct samples, each twin reaches
    config = SearchConfig(name="descent", simulations=30, control="placebo_all", stop=StopRule(enabled=False))
    summary = run_search(
        chain_model, tokenizer, TASK, SearchRun(model="tiny"), config, EngineConfig(), tmp_path
    )
    records = read_jsonl(tmp_path / "results.jsonl")
    correct = [r for r in records if r["original_correct"] and r["placebo"] is not None]
    assert correct and all("placebo_best_chain" in r for r in correct)
    examples = {e.id: e for e in load_examples(TASK)}
    queries = {i: build_query(e, tokenizer, TASK) for i, e in examples.items()}
    for record in correct:
        for text in record["placebo_correct_chains"]:
            evaluator = ChainEvaluator(chain_model, tokenizer, queries[record["id"]])
            assert evaluator.outcome(parse_chain(text, 4))["prediction"] == record["placebo"]
    control = summary["shortening_control"]
    both = [r for r in correct if r["placebo_best_length"] is not None]
    assert control["n_shortening_pairs"] == len(correct)
    assert control["placebo_reached_rate"] == pytest.approx(len(both) / len(correct))
    assert both, "the fixture must hold a correct sample whose twin reaches the placebo"
    gaps = [r["placebo_best_length"] - r["best_length"] for r in both]
    assert control["length_gap"] == pytest.approx(np.mean(gaps))
    # The originally-correct twins are not counted among the correction pairs.
    assert summary["placebo"]["n_placebo_pairs"] == sum(
        not r["original_correct"] and r["placebo"] is not None for r in records
    )


def test_a_common_report_reads_every_run_on_the_samples_all_of_them_hold(placebo_run, tmp_path):
    _, runs = placebo_run
    partial = tmp_path / "partial"
    partial.mkdir()
    lines = (runs[1] / "results.jsonl").read_text().splitlines()
    (partial / "results.jsonl").write_text("\n".join(lines[:2]) + "\n")
    report = write_report({"whole": runs[0], "partial": partial}, tmp_path / "out", common=True).read_text()
    assert "| samples | 2 | 2 |" in report
    assert (
        "| samples | 5 | 2 |"
        in write_report({"whole": runs[0], "partial": partial}, tmp_path / "all").read_text()
    )


def test_a_report_reads_committed_gzip_records_as_it_reads_a_run(placebo_run, tmp_path):
    import gzip

    _, runs = placebo_run
    packed = tmp_path / "seed0.jsonl.gz"
    with gzip.open(packed, "wt") as handle:
        handle.write((runs[0] / "results.jsonl").read_text())
    from_run = write_report({"seed0": runs[0]}, tmp_path / "a").read_text()
    from_file = write_report({"seed0": packed}, tmp_path / "b").read_text()
    strip = lambda text: text.split("```json")[0]  # noqa: E731  (plots differ only in their folder)
    assert strip(from_run) == strip(from_file)
