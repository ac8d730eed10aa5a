"""A search rewarded for faithfulness: records, its reach control, its summary, and no answer key."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks.analysis.faithful_summary import depth_at, depth_summary
from benchmarks.evaluator import ChainEvaluator
from benchmarks.faithful import FaithfulEvaluator, kl_divergence
from benchmarks.reports.faithful_report import depth_cell, reach_target_kl, reach_target_line
from benchmarks.reports.headlines import read_statistics
from benchmarks.reports.search_report import write_report
from benchmarks.runs.search_run import SearchRun, run_search
from benchmarks.tasks import TaskConfig, build_queries, load_examples
from cola import ChainModel, parse_chain
from cola.engine import EngineConfig
from search import SearchConfig, StopRule
from search.guesses import choice_distribution
from tests.benchmarks.runs.test_search_run import ARC_PATH, GSM_PATH
from tests.conftest import build_tiny_model

CONFIG = SearchConfig(
    name="descent",
    simulations=15,
    reward="faithful",
    faithful_kl=0.2,
    control="reach",
    stop=StopRule(enabled=False),
)


def search(chain_model, tokenizer, path, output_dir):
    task = TaskConfig("arc_easy", path=str(path))
    summary = run_search(
        chain_model, tokenizer, task, SearchRun(model="tiny"), CONFIG, EngineConfig(), output_dir
    )
    records = [json.loads(line) for line in (output_dir / "results.jsonl").read_text().splitlines()]
    return summary, records, build_queries(load_examples(task), tokenizer, task)


def test_faithful_records_and_their_reach_control(tmp_path, tokenizer):
    chain_model = ChainModel(build_tiny_model("llama"))
    summary, records, queries = search(chain_model, tokenizer, ARC_PATH, tmp_path / "run")
    for record, query in zip(records, queries, strict=True):
        assert len(record["kls"]) == len(record["predictions"]) == record["n_evaluated"]
        assert record["kls"][0] == 0.0 and record["predictions"][0] == record["original_prediction"]
        fresh = FaithfulEvaluator(ChainEvaluator(chain_model, tokenizer, query, EngineConfig()), 0.2)
        best = parse_chain(record["best_chain"], 4)
        assert fresh(best) == 1.0 and len(best) == record["best_length"]
        assert all(fresh(parse_chain(text, 4)) == 1.0 for text in record["correct_chains"])
        if len(query.continuation_ids) >= 3:
            assert len(record["reach_kls"]) == record["reach_n_evaluated"]
        else:  # nothing to swap but the answer itself
            assert "reach_kls" not in record
        # the recorded KLs and lengths give the search's own best again, and every tighter bound
        assert depth_at(record) == (record["best_length"] or 4) == depth_at(record, bound=0.2)
        assert depth_at(record, bound=0.01) >= depth_at(record) and depth_at(record, budget=0) == 4
        assert depth_at(record, bound=0.5) is None  # wider than the run's bound: not recorded
    assert summary["faithful"]["n"] == 5 and summary["reach"]["n"] == 4
    lengths = [r["best_length"] for r in records]
    assert summary["faithful"]["mean"] == pytest.approx(sum(lengths) / 5)

    report = write_report({"descent": tmp_path / "run"}, tmp_path / "report")
    row = next(line for line in report.read_text().splitlines() if line.startswith("| descent |"))
    assert f"{sum(lengths) / 5:.2f}" in row and "n = 4" in row  # the reach control ran on four questions
    assert (tmp_path / "report" / "depth_hist.png").is_file()
    grid = report.read_text().split("Mean layers needed, descent (n = 5)")[1].splitlines()
    assert grid[4].startswith("| 0.01 | ") and grid[6].startswith("| 0.2 |")
    mean_at_02 = sum(depth_at(r, bound=0.2) for r in records) / 5  # the budget (15) is under 25
    assert grid[6].split("|")[2].strip().startswith(f"{mean_at_02:.2f} / ")
    statistics = read_statistics(report)["descent"]  # the report's figures, for the README's table
    assert statistics["depth_grid"]["bound 0.2"]["within all"]["faithful"] == pytest.approx(mean_at_02)
    assert statistics["summary"]["faithful"]["mean"] == pytest.approx(sum(lengths) / 5)
    gold = SearchConfig(name="random", simulations=3)
    run_search(
        chain_model,
        tokenizer,
        TaskConfig("arc_easy", path=ARC_PATH),
        SearchRun(model="tiny"),
        gold,
        EngineConfig(),
        tmp_path / "gold",
    )
    with pytest.raises(ValueError, match="report them apart"):
        write_report({"descent": tmp_path / "run", "random": tmp_path / "gold"}, tmp_path / "mixed")


def test_the_runner_up_reach_control_aims_at_another_answer(tmp_path, tokenizer):
    chain_model = ChainModel(build_tiny_model("llama"))
    task = TaskConfig("arc_easy", path=ARC_PATH)
    config = replace(CONFIG, reach_target="runner_up")
    summary = run_search(
        chain_model, tokenizer, task, SearchRun(model="tiny"), config, EngineConfig(), tmp_path
    )
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert summary["reach"]["n"] == 5  # two choices are enough to swap the top two
    for record, query in zip(records, build_queries(load_examples(task), tokenizer, task), strict=True):
        fresh = ChainEvaluator(chain_model, tokenizer, query, EngineConfig())
        full = choice_distribution(fresh.outcome((0, 1, 2, 3))["scores"], 1.0)
        top, runner_up = np.argsort(-full, kind="stable")[:2]
        target = full.copy()
        target[[top, runner_up]] = full[[runner_up, top]]
        assert record["reach_target"] == "runner_up" and record["reach_answer"] == runner_up
        assert record["reach_kls"][0] == pytest.approx(kl_divergence(target, full), abs=1e-5)
        assert record["reach_best_length"] != 4  # the full chain gives the other answer
        for text in record["reach_correct_chains"]:
            own = choice_distribution(fresh.outcome(parse_chain(text, 4))["scores"], 1.0)
            assert int(np.argmax(own)) == runner_up and kl_divergence(target, own) <= 0.2 + 1e-5
        assert depth_at(record, prefix="reach_") == (record["reach_best_length"] or 4)
    assert "reach target (runner_up)" in reach_target_line("run", records)


def test_the_answer_key_changes_nothing(tmp_path, tokenizer):
    chain_model = ChainModel(build_tiny_model("llama"))
    rows = [json.loads(line) for line in Path(ARC_PATH).read_text().splitlines()]
    for row in rows:  # every gold answer moved to another label
        labels = [choice["label"] for choice in row["choices"]]
        row["answer"] = labels[(labels.index(row["answer"]) + 1) % len(labels)]
    moved = tmp_path / "moved.jsonl"
    moved.write_text("".join(json.dumps(row) + "\n" for row in rows))
    _, first, _ = search(chain_model, tokenizer, ARC_PATH, tmp_path / "a")
    _, second, _ = search(chain_model, tokenizer, moved, tmp_path / "b")
    keys = ("correct_chains", "best_chain", "kls", "predictions", "reach_correct_chains", "reach_kls")
    assert [[r.get(k) for k in keys] for r in first] == [[r.get(k) for k in keys] for r in second]


def test_faithful_settings_are_checked(tmp_path, tokenizer):
    with pytest.raises(ValueError, match="needs search.stop.enabled=false"):
        SearchConfig(reward="faithful")
    with pytest.raises(ValueError, match="control=reach is the control of reward=faithful"):
        SearchConfig(control="reach", stop=StopRule(enabled=False))
    with pytest.raises(ValueError, match="control=reach is the control of reward=faithful"):
        SearchConfig(reward="faithful", control="placebo", stop=StopRule(enabled=False))
    with pytest.raises(ValueError, match="unknown reach_target 'top'"):
        replace(CONFIG, reach_target="top")
    with pytest.raises(ValueError, match="reach_target is read by control=reach only"):
        replace(CONFIG, control=None, reach_target="runner_up")


@pytest.mark.parametrize("tokens", [None, 2])
def test_faithful_generation_agrees_with_independent_decodes(tmp_path, tokenizer, tokens):
    chain_model = ChainModel(build_tiny_model("llama"))
    task = TaskConfig("gsm8k", mode="direct", path=GSM_PATH, max_new_tokens=6)
    config = SearchConfig(
        name="descent",
        simulations=10,
        reward="faithful",
        faithful_tokens=tokens,
        stop=StopRule(enabled=False),
    )
    run_search(chain_model, tokenizer, task, SearchRun(model="tiny"), config, EngineConfig(), tmp_path)
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    for record, query in zip(records, build_queries(load_examples(task), tokenizer, task), strict=True):
        naive = ChainEvaluator(chain_model, tokenizer, query, EngineConfig(reuse_prefixes=False))
        reference = naive.outcome((0, 1, 2, 3))["tokens"]  # every chain decoded in full, from scratch
        assert record["faithful_needed"] == (
            len(reference) if tokens is None else min(tokens, len(reference))
        )
        assert record["agreements"][0] == len(reference)
        for text in record["correct_chains"]:
            decoded = naive.outcome(parse_chain(text, 4))["tokens"]
            assert decoded[: record["faithful_needed"]] == reference[: record["faithful_needed"]]
        assert len(record["agreements"]) == record["n_evaluated"]


def test_the_generation_reach_control_aims_at_the_runner_up_and_its_continuation(tmp_path, tokenizer):
    model = build_tiny_model("llama")
    chain_model = ChainModel(model)
    task = TaskConfig("gsm8k", mode="direct", path=GSM_PATH, max_new_tokens=6)
    config = SearchConfig(
        name="descent", simulations=10, reward="faithful", control="reach", stop=StopRule(enabled=False)
    )
    run_search(chain_model, tokenizer, task, SearchRun(model="tiny"), config, EngineConfig(), tmp_path)
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    for record, query in zip(records, build_queries(load_examples(task), tokenizer, task), strict=True):
        with torch.no_grad():  # the reference from Hugging Face's own forward and greedy decoding
            runner_up = int(model(query.input_ids).logits[0, -1].topk(2).indices[1])
            forced = torch.cat([query.input_ids, torch.tensor([[runner_up]])], dim=1)
            continued = model.generate(forced, max_new_tokens=5, do_sample=False)[0, forced.shape[1] :]
        expected = [runner_up, *continued.tolist()][: record["reach_needed"]]
        assert record["reach_agreements"][0] == 0  # the full chain's first token is its top one
        assert len(record["reach_agreements"]) == record["reach_n_evaluated"]
        naive = ChainEvaluator(chain_model, tokenizer, query, EngineConfig(reuse_prefixes=False))
        for text in record["reach_correct_chains"]:
            assert naive.outcome(parse_chain(text, 4))["tokens"][: record["reach_needed"]] == expected
        assert 1 <= record["reach_needed"] <= 6


def test_depth_at_reads_bounds_budgets_and_tokens_by_hand():
    record = {
        "n_layers": 30,
        "faithful_kl": 0.2,
        "full_scores": [-1.0, -2.0, -3.0],
        "original_prediction": 0,
        "lengths": [30, 28, 25, 20, 22],
        "predictions": [0, 0, 0, 1, 0],
        "kls": [0.0, 0.004, 0.1, 0.01, 0.03],
    }
    assert depth_at(record) == 22  # 20 picks another answer
    assert depth_at(record, bound=0.05) == 22 and depth_at(record, bound=0.01) == 28
    # within k evaluations = the full chain and the k chains after it
    assert depth_at(record, budget=0) == 30 and depth_at(record, budget=1) == 28
    assert depth_at(record, budget=2) == 25 and depth_at(record, budget=2, bound=0.05) == 28
    assert depth_at(record, budget=4) == 22
    generation = {"n_layers": 30, "faithful_needed": 8, "lengths": [30, 26, 24], "agreements": [8, 3, 1]}
    assert depth_at(generation) == 30 and depth_at(generation, tokens=4) == 30
    assert depth_at(generation, tokens=3) == 26 and depth_at(generation, tokens=1) == 24
    assert depth_at({"n_layers": 30}) is None  # a run from before lengths were recorded


def test_the_reach_targets_distance_is_the_kl_of_the_two_least_likely_swapped():
    probabilities = np.array([0.7, 0.2, 0.06, 0.04])
    record = {"full_scores": list(np.log(probabilities)), "reach_best_length": 12}
    expected = 0.06 * np.log(0.06 / 0.04) + 0.04 * np.log(0.04 / 0.06)  # by hand
    assert reach_target_kl(record) == pytest.approx(expected)
    assert reach_target_kl({"full_scores": [0.0, -1.0, -2.0]}) is None  # the control did not run
    assert reach_target_kl(record | {"full_scores": [0.0, -1.0]}) is None  # two choices: no control
    line = reach_target_line("run", [record, record])
    assert f"median {expected:.3f} nats" in line and "1.00 within 0.05" in line


def test_a_depth_cell_states_its_interval_or_that_one_input_has_none():
    assert depth_cell(depth_summary([10, 12, 14], 30)).startswith("12.00 (9.74–14.26); median 12")
    single = depth_cell(depth_summary([27], 30))
    assert single.startswith("27.00 (no interval from one input)") and "nan" not in single
