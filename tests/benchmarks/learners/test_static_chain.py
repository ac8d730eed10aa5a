"""The static-chain learner on a tiny model: outcomes match separate evaluations, it resumes, and
its policy file is refused on other weights."""

from __future__ import annotations

import pytest

from benchmarks.evaluator import ChainEvaluator
from benchmarks.faithful import decisive_distribution, kl_divergence
from benchmarks.learners.static_chain import StaticChainStudy, learn_static_chain_policy
from benchmarks.tasks import TaskConfig, build_queries, load_examples
from cola import ChainModel, parse_chain
from cola.engine import EngineConfig
from cola.policy import StaticChain, load_policy
from search import EditConfig
from search.static_chain import RaceConfig
from tests.benchmarks.runs.test_search_run import ARC_PATH
from tests.conftest import build_tiny_model

RACE = RaceConfig(
    screen_questions=3, finalists=2, final_questions=5, max_steps=2, edits=EditConfig(skip_sizes=(1,))
)


def learn(tmp_path, tokenizer, chain_model, **study):
    return learn_static_chain_policy(
        chain_model,
        tokenizer,
        TaskConfig("arc_easy", path=ARC_PATH),
        StaticChainStudy(race=RACE, **study),
        EngineConfig(),
        tmp_path / "run",
        model_fingerprint="sha256:tiny",
    )


@pytest.mark.parametrize(
    ("objective", "bound", "method"),
    [
        ("gold", None, "race"),
        ("faithful", None, "race"),
        ("faithful", 0.01, "race"),
        ("faithful", 0.05, "keep_rate"),
    ],
)
def test_the_path_is_what_separate_evaluations_give_and_a_rerun_replays_it(
    tmp_path, tokenizer, objective, bound, method
):
    chain_model = ChainModel(build_tiny_model("llama"))
    result = learn(tmp_path, tokenizer, chain_model, objective=objective, faithful_kl=bound, method=method)
    task = TaskConfig("arc_easy", path=ARC_PATH)
    queries = build_queries(load_examples(task), tokenizer, task)
    full = parse_chain("0-3", 4)
    for row in result["path"]:
        chain = parse_chain(row["chain"], 4)
        hits = []
        for query in queries:  # a fresh evaluator per chain: no shared prefixes, no stored outcomes
            outcome = ChainEvaluator(
                chain_model, tokenizer, query, EngineConfig(reuse_prefixes=False)
            ).outcome(chain)
            if objective == "gold":
                hits.append(outcome["correct"])
            else:
                reference = ChainEvaluator(chain_model, tokenizer, query, EngineConfig(reuse_prefixes=False))
                same = outcome["prediction"] == reference.outcome(full)["prediction"]
                kl = kl_divergence(
                    decisive_distribution(reference.outcome(full)), decisive_distribution(outcome)
                )
                hits.append(same and (bound is None or kl <= bound))
        assert row["validation_accuracy"] == pytest.approx(sum(hits) / len(hits))
        assert row["train_accuracy"] == pytest.approx(sum(hits) / len(hits))  # same five questions
    if objective == "faithful":
        assert result["path"][0]["train_accuracy"] == 1.0  # the full chain agrees with itself
        # stopped at the shortest chain agreeing on all five validation questions (>= 0.99)
        agreeing = [row for row in result["path"] if row["validation_accuracy"] == 1.0]
        assert result["picked"] == min(agreeing, key=lambda row: row["length"])["chain"]
    if method == "keep_rate":
        assert all(row["edit"].startswith("skip ") for row in result["path"][1:])
        assert all(row["train_accuracy"] >= 0.99 for row in result["path"])
        rates = result["single_keep_rates"]  # each layer's skip alone, on the screening questions
        assert len(rates) == 4 and all(0 <= rate <= 1 for rate in rates)
        assert "Single-skip keep rates on the" in (tmp_path / "run" / "path.md").read_text()
    else:
        assert "single_keep_rates" not in result
    picked = [row for row in result["path"] if row["picked"]]
    assert len(picked) == 1 and picked[0]["chain"] == result["picked"]
    assert (tmp_path / "run" / "path.md").read_text().count("(picked)") == 1

    lines = (tmp_path / "run" / "outcomes.jsonl").read_text().splitlines()
    again = learn(tmp_path, tokenizer, chain_model, objective=objective, faithful_kl=bound, method=method)
    assert again["path"] == result["path"]
    assert (tmp_path / "run" / "outcomes.jsonl").read_text().splitlines() == lines  # nothing recomputed

    policy = load_policy(
        tmp_path / "run" / "static_chain.safetensors", chain_model, fingerprint="sha256:tiny"
    )
    assert isinstance(policy, StaticChain) and policy.chain == parse_chain(result["picked"], 4)
    with pytest.raises(ValueError, match="other weights"):
        load_policy(tmp_path / "run" / "static_chain.safetensors", chain_model, fingerprint="sha256:other")


def test_a_killed_race_resumes_from_its_outcomes(tmp_path, tokenizer):
    chain_model = ChainModel(build_tiny_model("llama"))
    result = learn(tmp_path, tokenizer, chain_model)
    outcomes = tmp_path / "run" / "outcomes.jsonl"
    lines = outcomes.read_text().splitlines()
    outcomes.write_text("\n".join(lines[: len(lines) // 2]) + "\n" + lines[len(lines) // 2][:25])  # torn
    (tmp_path / "run" / "path.json").unlink()
    assert learn(tmp_path, tokenizer, chain_model)["path"] == result["path"]
    assert len(outcomes.read_text().splitlines()) == len(lines)


def test_bad_settings_are_refused(tmp_path, tokenizer):
    with pytest.raises(ValueError, match="never on test"):
        StaticChainStudy(race=RACE, validation_split="test")
    with pytest.raises(ValueError, match="set objective=faithful"):
        StaticChainStudy(race=RACE, faithful_kl=0.1)
    with pytest.raises(ValueError, match="set objective=faithful"):
        StaticChainStudy(race=RACE, method="keep_rate")
    with pytest.raises(ValueError, match="unknown method"):
        StaticChainStudy(race=RACE, method="anneal")
    with pytest.raises(ValueError, match="unknown objective"):
        StaticChainStudy(race=RACE, objective="speed")
    chain_model = ChainModel(build_tiny_model("llama"))
    big = StaticChainStudy(race=RaceConfig(screen_questions=3, final_questions=50))
    with pytest.raises(ValueError, match="needs 50 train questions"):
        learn_static_chain_policy(
            chain_model,
            tokenizer,
            TaskConfig("arc_easy", path=ARC_PATH),
            big,
            EngineConfig(),
            tmp_path / "big",
            model_fingerprint="sha256:tiny",
        )
    learn(tmp_path, tokenizer, chain_model)
    with pytest.raises(ValueError, match="other settings"):
        learn(tmp_path, tokenizer, chain_model, seed=1)
