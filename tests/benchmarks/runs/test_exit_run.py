"""Every exit's choice scores, in one packed pass, equal the truncated chain scored as rows."""

from __future__ import annotations

import json

import pytest
import torch

from benchmarks.runs.exit_run import ExitRun, choice_exits, run_exits
from benchmarks.tasks import TaskConfig
from cola import ChainModel
from tests.benchmarks.runs.test_search_run import ARC_PATH
from tests.benchmarks.test_queries import ARC, loglikelihood_query


@torch.inference_mode()
def test_each_exit_scores_as_the_truncated_chain_in_rows(tiny_model, tokenizer):
    chain_model = ChainModel(tiny_model)
    query = loglikelihood_query(ARC[2], tokenizer, chat=False)
    outcomes = choice_exits(chain_model, query)
    assert sorted(outcomes) == list(range(chain_model.n_layers + 1))
    rows = chain_model.embed(query.input_ids)
    inputs = chain_model.step_inputs(rows, attention_mask=query.attention_mask)
    for k in range(chain_model.n_layers + 1):
        hidden = chain_model.run_steps(rows, tuple(range(k)), inputs)  # k = 0: the embedding output
        expected = query.score(hidden, chain_model.head)
        assert outcomes[k].scores == pytest.approx(expected.scores, abs=1e-4)
        assert outcomes[k].prediction == expected.prediction


def test_an_exit_run_records_every_exit_and_resumes(tmp_path, tiny_checkpoint):
    from cola import load_model

    loaded = load_model(str(tiny_checkpoint))
    chain_model = ChainModel(loaded.model)
    task = TaskConfig(benchmark="arc_easy", path=ARC_PATH, mode="loglikelihood")
    run = ExitRun(model=loaded.name, exits=(0, 2, 4), limit=3)
    records = run_exits(chain_model, loaded.tokenizer, task, run, tmp_path)
    assert len(records) == 3 and all(r["exits"] == [0, 2, 4] and len(r["exit_scores"]) == 3 for r in records)
    assert all(len(r["exit_scores"][0]) == len(r["choice_chars"]) == len(r["choice_tokens"]) for r in records)
    assert all(len(r["neutral_scores"]) == len(r["choice_chars"]) and r["dola_scores"] for r in records)
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    again = run_exits(chain_model, loaded.tokenizer, task, run, tmp_path)  # nothing left to do
    assert [json.loads(line)["id"] for line in lines] == [r["id"] for r in again]
    assert (tmp_path / "results.jsonl").read_text().splitlines() == lines
    with pytest.raises(ValueError, match="out of range"):
        run_exits(
            chain_model, loaded.tokenizer, task, ExitRun(model=loaded.name, exits=(9,)), tmp_path / "bad"
        )


def test_training_records_can_hold_the_exits_alone(tmp_path, tiny_checkpoint):
    from cola import load_model
    from scripts.studies.record_exits import parser

    args = parser().parse_args(["--out", str(tmp_path), "--exits-only", "--exits", "0,4"])
    assert args.exits_only and args.exits == "0,4"
    loaded = load_model(str(tiny_checkpoint))
    task = TaskConfig(benchmark="arc_easy", path=ARC_PATH, mode="loglikelihood")
    run = ExitRun(model=loaded.name, exits=(0, 4), dola=False, neutral=False, limit=2)
    records = run_exits(ChainModel(loaded.model), loaded.tokenizer, task, run, tmp_path)
    assert len(records) == 2 and all(r["exits"] == [0, 4] for r in records)
    assert not any("dola_scores" in r or "neutral_scores" in r for r in records)


@torch.inference_mode()
def test_a_record_holds_dola_variants_equal_to_scoring_each_alone(tiny_model, tokenizer):
    from benchmarks.runs.dola_scores import choice_dola
    from benchmarks.runs.exit_run import dola_variants, question_scores

    chain_model = ChainModel(tiny_model)
    query = loglikelihood_query(ARC[2], tokenizer, chat=False)
    fields = question_scores(chain_model, query, ExitRun(model="tiny", exits=(4,)))
    assert fields["exits"] == [4] and len(fields["exit_scores"]) == 1
    variants = dola_variants(chain_model)
    assert set(fields["dola_scores"]) == set(variants) and "low" in variants and "high" in variants
    for name, layers in variants.items():
        alone, _ = choice_dola(chain_model, query, layers)
        assert fields["dola_scores"][name] == pytest.approx(alone.scores, abs=1e-4)


@torch.inference_mode()
def test_neutral_scores_are_the_choices_scored_after_the_premise_alone(tiny_model, tokenizer):
    from benchmarks.runs.exit_run import neutral_scores

    chain_model = ChainModel(tiny_model)
    query = loglikelihood_query(ARC[2], tokenizer, chat=False)
    premise = tokenizer("Answer:").input_ids
    expected = []
    for continuation in query.continuation_ids:  # each choice as its own row, from scratch
        ids = torch.tensor([premise + list(continuation)])
        log_probs = chain_model(ids, range(chain_model.n_layers))[0].log_softmax(-1)
        start = len(premise) - 1
        expected.append(sum(float(log_probs[start + i, token]) for i, token in enumerate(continuation)))
    assert neutral_scores(chain_model, query, premise) == pytest.approx(expected, abs=1e-4)
