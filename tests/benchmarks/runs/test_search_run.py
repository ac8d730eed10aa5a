"""The search harness: records, rates recomputed from JSONL, shards, report, and kill -9 resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.analysis.search_summary import merge_shards, shard_folders, summarize_search
from benchmarks.reports.search_report import write_report
from benchmarks.results import SettingsMismatch
from benchmarks.runs.search_run import SearchRun, run_search, run_settings
from benchmarks.tasks import TaskConfig
from cola import ChainModel
from cola.engine import EngineConfig
from search import SearchConfig, StopRule
from tests.conftest import build_tiny_model

ROOT = Path(__file__).resolve().parents[3]
ARC_PATH = str(ROOT / "tests/fixtures/arc_mixed.jsonl")
GSM_PATH = str(ROOT / "tests/fixtures/gsm8k_small.jsonl")
CONFIG = SearchConfig(simulations=30, stop=StopRule(enabled=False))
VOLATILE = ("seconds", "load_1m")  # record fields that measure the machine, not the search


def stable(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in VOLATILE}


@pytest.fixture(scope="module")
def chain_model():
    return ChainModel(build_tiny_model("llama"))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def run(chain_model, tokenizer, output_dir, **run_fields):
    task = TaskConfig("arc_easy", path=ARC_PATH)
    return run_search(
        chain_model,
        tokenizer,
        task,
        SearchRun(model="tiny", **run_fields),
        CONFIG,
        EngineConfig(),
        output_dir,
    )


def chain_length(text: str) -> int:
    return sum(
        int(end or start) - int(start) + 1 for start, _, end in (p.partition("-") for p in text.split(","))
    )


def test_every_sample_is_searched_and_recorded(tmp_path, chain_model, tokenizer):
    summary = run(chain_model, tokenizer, tmp_path)
    records = read_jsonl(tmp_path / "results.jsonl")
    assert [r["id"] for r in records] == ["arc-1", "arc-2", "arc-3", "arc-4", "arc-5"]
    for record, n_choices in zip(records, (4, 4, 5, 3, 2), strict=True):
        assert record["n_layers"] == 4 and record["search"] == "mcts" and record["seed"] == 0
        assert 1 < record["n_evaluated"] <= 31 and record["layer_forwards"] > 0
        assert record["prompt"].startswith("Question: ")
        assert record["cpus"] == os.cpu_count() and record["threads"] >= 1 and record["load_1m"] >= 0
        assert len(record["continuation_ids"]) == n_choices
        assert ("0-3" in record["correct_chains"]) == record["original_correct"]
        if record["correct_chains"]:
            shortest = min(chain_length(chain) for chain in record["correct_chains"])
            assert record["best_chain"] in record["correct_chains"]
            assert record["best_length"] == chain_length(record["best_chain"]) == shortest
        else:
            assert record["best_chain"] is None and record["best_length"] is None
    assert json.loads(json.dumps(summary)) == json.loads((tmp_path / "summary.json").read_text())
    assert summary["n"] == 5
    loads = [r["load_1m"] for r in records]
    assert summary["machine"]["n_with_load"] == 5 and summary["machine"]["max_load_1m"] == max(loads)


def test_rates_are_recomputed_from_records():
    def record(original, best_length):
        return {
            "original_correct": original,
            "best_chain": None if best_length is None else "0",
            "best_length": best_length,
            "n_layers": 30,
            "n_evaluated": 10,
            "layer_forwards": 100,
            "seconds": 1.0,
        }

    records = [record(True, 28), record(True, 30), record(True, 25), record(False, 31), record(False, None)]
    summary = summarize_search(records)
    assert summary["accuracy"] == pytest.approx(3 / 5)
    assert summary["shortening_rate"] == pytest.approx(2 / 3)
    assert summary["correction_rate"] == pytest.approx(1 / 2)
    assert summary["oracle_accuracy"] == pytest.approx(4 / 5)
    assert summary["mean_best_length"] == pytest.approx((28 + 30 + 25 + 31) / 4)
    assert summary["machine"] is None  # records from before the load was kept say so


def test_shards_merge_into_the_unsharded_result(tmp_path, chain_model, tokenizer):
    whole = run(chain_model, tokenizer, tmp_path / "whole")
    for index in range(2):
        run(chain_model, tokenizer, tmp_path / f"shard{index}", shard_index=index, shard_count=2)
    merged = merge_shards([tmp_path / "shard0", tmp_path / "shard1"], tmp_path / "merged")
    by_id = {r["id"]: stable(r) for r in read_jsonl(tmp_path / "merged" / "results.jsonl")}
    assert by_id == {r["id"]: stable(r) for r in read_jsonl(tmp_path / "whole" / "results.jsonl")}
    for key in ("n", "accuracy", "shortening_rate", "correction_rate", "mean_best_length"):
        assert merged[key] == whole[key]
    settings = json.loads((tmp_path / "merged" / "run_settings.json").read_text())
    assert settings["shard"] == [[0, 1], 2] and settings["seed"] == 0


def test_shards_of_other_runs_are_not_merged(tmp_path, chain_model, tokenizer):
    run(chain_model, tokenizer, tmp_path / "shard0", shard_index=0, shard_count=2)
    run(chain_model, tokenizer, tmp_path / "other", shard_index=1, shard_count=2, seed=1)
    with pytest.raises(
        SettingsMismatch, match=r"other was run with other settings than .*shard0 \(seed: 0 -> 1\)"
    ):
        merge_shards([tmp_path / "shard0", tmp_path / "other"], tmp_path / "merged")
    with pytest.raises(SettingsMismatch, match="not parts of one split run"):
        merge_shards([tmp_path / "shard0", tmp_path / "shard0"], tmp_path / "merged")
    assert not (tmp_path / "merged").exists()


def test_report_has_table_and_plots(tmp_path, chain_model, tokenizer):
    run(chain_model, tokenizer, tmp_path / "mcts")
    report = write_report({"mcts": tmp_path / "mcts"}, tmp_path / "report")
    text = report.read_text()
    assert "| shortening rate (of originally correct) |" in text and "> 0.75" in text
    assert f"- machine, mcts: {os.cpu_count()} CPUs" in text
    for png in ("best_length_hist.png", "layer_usage.png"):
        assert (tmp_path / "report" / png).stat().st_size > 1000


def test_invalid_run_settings_are_refused():
    with pytest.raises(ValueError, match="unknown search 'beam'"):
        SearchConfig(name="beam")
    with pytest.raises(ValueError, match="unknown control 'sham'"):
        SearchConfig(control="sham")
    with pytest.raises(ValueError, match="shard_index 2 out of range for shard_count 2"):
        SearchRun(model="tiny", shard_index=2, shard_count=2)


def search_command(checkpoint: Path, output_dir: Path) -> list[str]:
    return [
        sys.executable,
        str(ROOT / "scripts/run_search.py"),
        f"model.spec={checkpoint}",
        "benchmark=gsm8k",
        f"benchmark.path={GSM_PATH}",
        "benchmark.max_new_tokens=8",
        "search.simulations=60",
        "search.stop.enabled=false",
        "limit=null",
        "threads=1",
        "progress=false",
        f"hydra.run.dir={output_dir}",
    ]


def test_search_script_resumes_after_kill_9(tmp_path, tiny_checkpoint):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    subprocess.run(search_command(tiny_checkpoint, reference_dir), check=True, env=env, capture_output=True)
    results = killed_dir / "results.jsonl"
    process = subprocess.Popen(
        search_command(tiny_checkpoint, killed_dir),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not (results.exists() and results.read_text().count("\n") >= 1):
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = results.read_text().count("\n")
    assert 1 <= partial < 3, "the run must be killed part-way for this test to mean anything"
    subprocess.run(search_command(tiny_checkpoint, killed_dir), check=True, env=env, capture_output=True)
    resumed, reference = read_jsonl(results), read_jsonl(reference_dir / "results.jsonl")
    assert [r["id"] for r in resumed] == ["g-1", "g-2", "g-3"]
    assert [stable(r) for r in resumed] == [stable(r) for r in reference]
    assert (killed_dir / "report.md").is_file()


def test_restart_with_other_settings_is_refused_and_changes_nothing(tmp_path, chain_model, tokenizer):
    run(chain_model, tokenizer, tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in ("results.jsonl", "summary.json")}
    with pytest.raises(SettingsMismatch, match=r"seed: 0 -> 1") as refused:
        run(chain_model, tokenizer, tmp_path, seed=1)
    assert "\n" not in str(refused.value)
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    run(chain_model, tokenizer, tmp_path)  # the same settings resume


def test_run_settings_hold_the_prior_file_content(tmp_path):
    prior = tmp_path / "prior.json"
    prior.write_text('{"format": "cola-edit-prior", "n_layers": 4, "edits": []}')
    config = SearchConfig(name="learned", prior="learned", prior_file=str(prior))
    task, run_fields = TaskConfig("arc_easy", path=ARC_PATH), SearchRun(model="tiny")
    before = run_settings(task, run_fields, config)
    prior.write_text('{"format": "cola-edit-prior", "n_layers": 4, "edits": [], "split": "validation"}')
    after = run_settings(task, run_fields, config)
    assert before["prior_sha256"] != after["prior_sha256"] and before["search"] == after["search"]
    assert run_settings(task, run_fields, CONFIG)["prior_sha256"] is None


def test_a_setting_added_later_is_recorded_only_away_from_the_value_records_before_it_had():
    task, run_fields = TaskConfig("arc_easy", path=ARC_PATH), SearchRun(model="tiny")
    assert "reach_target" not in run_settings(task, run_fields, CONFIG)["search"]
    reach = SearchConfig(
        control="reach", reward="faithful", reach_target="runner_up", stop=StopRule(enabled=False)
    )
    assert run_settings(task, run_fields, reach)["search"]["reach_target"] == "runner_up"


def script(name: str, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), *overrides],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def one_line_error(stderr: str) -> str:
    """The error line a script ended with; progress bars of model loading may come before it."""
    assert "Traceback" not in stderr, stderr
    return stderr.strip().splitlines()[-1]


def test_scripts_turn_bad_input_into_one_line_and_status_2(tmp_path, tiny_checkpoint):
    common = [f"model.spec={tiny_checkpoint}", f"benchmark.path={ARC_PATH}", "progress=false", "threads=1"]
    first = script("evaluate.py", *common, f"hydra.run.dir={tmp_path}")
    assert first.returncode == 0, first.stderr
    results = (tmp_path / "results.jsonl").read_bytes()
    other_chain = script("evaluate.py", *common, "chain=0-2", f"hydra.run.dir={tmp_path}")
    assert other_chain.returncode == 2
    assert (
        one_line_error(other_chain.stderr).startswith("error: ")
        and "chain: '0-3' -> '0-2'" in other_chain.stderr
    )
    assert (tmp_path / "results.jsonl").read_bytes() == results
    for bad in ("chain=", "chain=''"):  # refused before any model is loaded
        empty = script("evaluate.py", "model.spec=/no/such/model", bad, f"hydra.run.dir={tmp_path / 'x'}")
        assert empty.returncode == 2 and "empty chain=" in empty.stderr, empty.stderr
    unknown = script("run_search.py", *common, "search.name=beam", f"hydra.run.dir={tmp_path / 'y'}")
    assert (
        unknown.returncode == 2
        and unknown.stderr.strip()
        == "error: unknown search 'beam'; choose from mcts, guided, learned, reference, random, greedy, descent, "
        "sample, sample_matched, rank"
    )


def test_a_faithful_search_script_ends_with_its_layers_not_an_error(tmp_path, tiny_checkpoint):
    done = script(
        "run_search.py",
        f"model.spec={tiny_checkpoint}",
        f"benchmark.path={ARC_PATH}",
        "search.reward=faithful",
        "search.control=reach",
        "search.stop.enabled=false",
        "search.simulations=6",
        "limit=2",
        "progress=false",
        "threads=1",
        f"hydra.run.dir={tmp_path}",
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout[done.stdout.index("{") : done.stdout.rindex("}") + 1])
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert printed == {
        "n": 2,
        "mean_layers_faithful": summary["faithful"]["mean"],
        "mean_layers_reach": summary["reach"]["mean"],
    }


def test_generate_writes_nothing_into_the_current_directory(tmp_path, tiny_checkpoint):
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/generate.py"),
            f"model.spec={tiny_checkpoint}",
            "prompt=the cat",
            "max_new_tokens=3",
            "chat=false",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert list(work.iterdir()) == []
    unknown = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/generate.py"),
            f"model.spec={tiny_checkpoint}",
            "prompt=x",
            "chain_sample=nope",
            f"chain_file={work / 'none.json'}",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert unknown.returncode == 2 and one_line_error(unknown.stderr).startswith(
        "error: chain file not found"
    )


def test_shard_folders_are_the_shard_directories_not_their_logs(tmp_path):
    for name in ("shard1", "shard0"):
        (tmp_path / name).mkdir()
    (tmp_path / "shard0.out").write_text("a log written beside the shard")
    assert shard_folders(tmp_path) == [tmp_path / "shard0", tmp_path / "shard1"]


def test_a_prior_without_keep_rates_is_refused_before_the_run_folder_is_claimed(
    tmp_path, chain_model, tokenizer
):
    prior = tmp_path / "old.json"
    edit = {"kind": "skip", "layer": 0, "size": 1, "score": 0.1}
    prior.write_text(json.dumps({"format": "cola-edit-prior", "n_layers": 4, "edits": [edit]}))
    config = SearchConfig(
        name="descent", prior="learned", prior_file=str(prior), stop=StopRule(enabled=False)
    )
    task = TaskConfig("arc_easy", path=ARC_PATH)
    with pytest.raises(ValueError, match="old.json has no keep rates"):
        run_search(
            chain_model, tokenizer, task, SearchRun(model="tiny"), config, EngineConfig(), tmp_path / "run"
        )
    assert not (tmp_path / "run").exists()  # a rerun with the right prior may use the same folder
