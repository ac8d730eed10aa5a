"""End to end: evaluate a tiny model on fixture data, resume after a crash, summary from JSONL."""

import json

import numpy as np
import pytest

from benchmarks.analysis.stats import wilson_interval
from benchmarks.evaluator import answer_packed, answer_routed
from benchmarks.queries import context_ids
from benchmarks.reports.accuracy_table import accuracy_table
from benchmarks.runs.evaluate import RunInfo, evaluate
from benchmarks.tasks import TaskConfig, build_queries, load_examples
from cola import ChainModel
from cola.block_router import BlockRouter, layer_blocks
from tests.conftest import build_tiny_model

ARC_PATH = "tests/fixtures/arc_mixed.jsonl"
GSM_PATH = "tests/fixtures/gsm8k_small.jsonl"


@pytest.fixture(scope="module")
def chain_model():
    return ChainModel(build_tiny_model("llama"))


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("mode", ["loglikelihood", "letter"])
def test_arc_records_and_summary(tmp_path, tokenizer, chain_model, mode):
    task = TaskConfig("arc_easy", mode=mode, path=ARC_PATH)
    summary = evaluate(chain_model, tokenizer, task, RunInfo("tiny", (0, 1, 1, 3)), tmp_path)
    records = read_jsonl(tmp_path / "results.jsonl")
    assert [r["id"] for r in records] == ["arc-1", "arc-2", "arc-3", "arc-4", "arc-5"]
    assert all(
        r["chain"] == "0-1,1,3" and r["model"] == "tiny" and r["benchmark"] == "arc_easy" for r in records
    )
    assert all(len(r["scores"]) == n for r, n in zip(records, (4, 4, 5, 3, 2), strict=True))
    assert summary["accuracy"] == sum(r["correct"] for r in records) / 5
    assert summary["accuracy_ci95"] == wilson_interval(sum(r["correct"] for r in records), 5)
    seconds = sorted(r["seconds"] for r in records)
    assert summary["seconds_median_p90"][0] == seconds[2] and seconds[3] <= summary["seconds_median_p90"][1]
    assert summary["machine"]["n_with_load"] == 5 and all("load_1m" in r for r in records)
    assert json.loads((tmp_path / "summary.json").read_text())["n"] == 5
    low, high = summary["accuracy_ci95"]
    row = accuracy_table([summary]).splitlines()[2]
    assert row.startswith(
        f"| tiny | arc_easy | {mode} | 5 | {summary['accuracy']:.3f} ({low:.3f}–{high:.3f}) |"
    )
    key = "continuation_ids" if mode == "loglikelihood" else "candidate_ids"
    assert all(key in r for r in records)


def test_gsm8k_direct_generates_and_grades(tmp_path, tokenizer, chain_model):
    task = TaskConfig("gsm8k", mode="direct", chat=True, path=GSM_PATH, max_new_tokens=4)
    summary = evaluate(chain_model, tokenizer, task, RunInfo("tiny", (0, 1, 2, 3)), tmp_path, batch_size=2)
    records = read_jsonl(tmp_path / "results.jsonl")
    assert [r["gold"] for r in records] == ["7", "8", "-4"]
    assert all(r["prompt"].endswith("<|im_start|>assistant\n") for r in records)
    assert all({"generation", "prediction", "correct", "exact_match"} <= set(r) for r in records)
    assert summary["n"] == 3 and 0.0 <= summary["accuracy"] <= 1.0


def test_batched_generation_matches_one_at_a_time(tmp_path, tokenizer, chain_model):
    task = TaskConfig("gsm8k", mode="direct", path=GSM_PATH, max_new_tokens=5)
    info = RunInfo("tiny", (0, 2, 2, 3))
    evaluate(chain_model, tokenizer, task, info, tmp_path / "b1", batch_size=1)
    evaluate(chain_model, tokenizer, task, info, tmp_path / "b3", batch_size=3)
    one = [r["generation"] for r in read_jsonl(tmp_path / "b1" / "results.jsonl")]
    three = [r["generation"] for r in read_jsonl(tmp_path / "b3" / "results.jsonl")]
    assert one == three


def test_resume_after_crash_scores_every_example_exactly_once(tmp_path, tokenizer, chain_model):
    task = TaskConfig("arc_easy", path=ARC_PATH)
    info = RunInfo("tiny", (0, 1, 2, 3))
    evaluate(chain_model, tokenizer, task, info, tmp_path, limit=3)
    results = tmp_path / "results.jsonl"
    complete = read_jsonl(results)
    # Simulate kill -9 in the middle of writing the third record.
    lines = results.read_text().splitlines(keepends=True)
    results.write_text("".join(lines[:2]) + lines[2][: len(lines[2]) // 2])
    summary = evaluate(chain_model, tokenizer, task, info, tmp_path)
    records = read_jsonl(results)
    assert [r["id"] for r in records] == ["arc-1", "arc-2", "arc-3", "arc-4", "arc-5"]
    assert records[2]["scores"] == pytest.approx(complete[2]["scores"])
    assert summary["n"] == 5
    assert summary["accuracy"] == sum(r["correct"] for r in records) / 5


def test_invalid_task_configs_are_refused():
    with pytest.raises(ValueError, match="mode 'cot' is not valid for arc_easy"):
        TaskConfig("arc_easy", mode="cot")
    with pytest.raises(ValueError, match="metric must be 'acc' or 'acc_norm'"):
        TaskConfig("arc_easy", metric="f1")


class ByContextLength:
    """A toy policy: even-length contexts run one chain, odd ones another."""

    kind = "toy"

    def choose(self, chain_model, context_ids):
        return (0, 1, 1, 3) if context_ids.shape[1] % 2 == 0 else (0, 2, 3)


@pytest.mark.parametrize(
    ("task", "batch_size"),
    [
        (TaskConfig("arc_easy", path=ARC_PATH), 1),
        (TaskConfig("gsm8k", mode="direct", path=GSM_PATH, max_new_tokens=4), 3),
    ],
)
def test_a_policy_runs_the_chain_it_picks_for_each_question(
    tmp_path, tokenizer, chain_model, task, batch_size
):
    info = RunInfo("tiny", None, policy=ByContextLength(), policy_sha256="abc")
    summary = evaluate(chain_model, tokenizer, task, info, tmp_path / "policy", batch_size=batch_size)
    records = read_jsonl(tmp_path / "policy" / "results.jsonl")
    assert {r["chain"] for r in records} <= {"0-1,1,3", "0,2-3"}
    assert summary["chain"] == "policy:toy"
    assert summary["chain_length"] == pytest.approx(sum(r["chain_length"] for r in records) / len(records))
    for chain, text in (((0, 1, 1, 3), "0-1,1,3"), ((0, 2, 3), "0,2-3")):  # each as a fixed chain
        evaluate(chain_model, tokenizer, task, RunInfo("tiny", chain), tmp_path / text, batch_size=1)
        fixed = {r["id"]: r for r in read_jsonl(tmp_path / text / "results.jsonl")}
        for record in (r for r in records if r["chain"] == text):
            assert record["prediction"] == fixed[record["id"]]["prediction"]
            assert record.get("scores") == pytest.approx(fixed[record["id"]].get("scores"))


def test_a_run_is_one_chain_or_one_policy():
    with pytest.raises(ValueError, match="exactly one"):
        RunInfo("tiny", (0, 1), policy=ByContextLength())
    with pytest.raises(ValueError, match="exactly one"):
        RunInfo("tiny", None)


@pytest.mark.parametrize("family", ["llama", "gemma3_text"])
def test_packed_choices_score_as_the_row_form(tmp_path, tokenizer, family):
    model = ChainModel(build_tiny_model(family))
    task = TaskConfig("arc_easy", path=ARC_PATH)
    for packed in (False, True):
        info = RunInfo("tiny", (0, 1, 1, 3), packed=packed)
        evaluate(model, tokenizer, task, info, tmp_path / str(packed))
    rows, packed = (read_jsonl(tmp_path / name / "results.jsonl") for name in ("False", "True"))
    for row, pack in zip(rows, packed, strict=True):
        assert pack["scores"] == pytest.approx(row["scores"], abs=1e-4)
        assert (pack["prediction"], pack["prediction_norm"]) == (row["prediction"], row["prediction_norm"])
    assert json.loads((tmp_path / "True" / "run_settings.json").read_text())["packed"] is True
    assert "packed" not in json.loads((tmp_path / "False" / "run_settings.json").read_text())


def random_router(chain_model: ChainModel, seed: int) -> BlockRouter:
    """A router over single-layer blocks whose decisions swing with the input: random MLPs on
    features standardized by a scale small enough that questions land on different decisions."""
    generator = np.random.default_rng(seed)
    blocks = layer_blocks(chain_model.n_layers, 1)
    count, width = len(blocks), chain_model.config.hidden_size
    return BlockRouter(
        blocks,
        np.zeros((count, width)),
        np.full((count, width), 0.05),
        generator.normal(size=(count, width, 8)),
        np.zeros((count, 8)),
        generator.normal(size=(count, 8, 3)),
        np.zeros((count, 3)),
    )


@pytest.mark.parametrize("family", ["llama", "gemma3_text"])
def test_a_block_router_answers_in_one_pass_as_its_chosen_chain_does(tmp_path, tokenizer, family):
    chain_model = ChainModel(build_tiny_model(family))
    task = TaskConfig("arc_easy", path=ARC_PATH)
    chains = set()
    for seed in range(3):
        router = random_router(chain_model, seed)
        for packed in (False, True):  # row form: choose, then run the chain; packed: one walk
            info = RunInfo("tiny", None, policy=router, policy_sha256="sha256:r", packed=packed)
            evaluate(chain_model, tokenizer, task, info, tmp_path / f"{seed}-{packed}")
        rows, walked = (
            read_jsonl(tmp_path / f"{seed}-{packed}" / "results.jsonl") for packed in (False, True)
        )
        for row, walk in zip(rows, walked, strict=True):
            assert walk["chain"] == row["chain"]
            assert walk["scores"] == pytest.approx(row["scores"], abs=1e-4)
            assert walk["prediction"] == row["prediction"]
            chains.add(walk["chain"])
    assert len(chains) >= 3  # the routers' decisions depended on the question


def test_a_router_that_skips_every_block_answers_with_the_full_chain(tokenizer, chain_model):
    task = TaskConfig("arc_easy", path=ARC_PATH)
    query = build_queries(load_examples(task, limit=1), tokenizer, task)[0]
    router = random_router(chain_model, 0)
    router.b2[:, 0] = 1e6  # skip, whatever the feature
    outcome, chain = answer_routed(chain_model, query, router)
    assert chain == tuple(range(chain_model.n_layers)) == router.choose(chain_model, context_ids(query))
    assert outcome.scores == pytest.approx(answer_packed(chain_model, query, chain).scores, abs=1e-6)
