"""Faithfulness as a reward: the KL it reads is an independent forward's, the answer key is never
read, and the reach control's reference is the full chain's with its two least likely swapped."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from benchmarks.evaluator import ChainEvaluator
from benchmarks.faithful import (
    REACH_MIN_CHOICES,
    REACH_PAIRS,
    FaithfulEvaluator,
    FaithfulTokensEvaluator,
    agreeing_prefix,
    kl_divergence,
    reach_reference,
    swapped_least_likely,
)
from benchmarks.runner import answer_choice
from benchmarks.tasks import TaskConfig, build_queries, load_examples
from cola import ChainModel
from cola.engine import EngineConfig
from search import SearchConfig, StopRule, descent_search
from search.config import REACH_TARGETS
from search.guesses import choice_distribution
from tests.benchmarks.runs.test_search_run import ARC_PATH, GSM_PATH
from tests.conftest import build_tiny_model

CHAINS = [(0, 1, 2, 3), (0, 2, 3), (0, 1, 3), (1, 2, 3), (0, 1, 1, 2, 3), (0, 3), (2, 3)]


@pytest.fixture(scope="module")
def setup(tokenizer):
    chain_model = ChainModel(build_tiny_model("gemma3_text"))
    task = TaskConfig("arc_easy", path=ARC_PATH, metric="acc_norm")
    return chain_model, build_queries(load_examples(task), tokenizer, task)


def test_swapping_the_two_least_likely():
    assert swapped_least_likely(np.array([0.5, 0.1, 0.3, 0.1])).tolist() == [0.5, 0.1, 0.3, 0.1]
    assert swapped_least_likely(np.array([0.5, 0.05, 0.3, 0.15])).tolist() == [0.5, 0.15, 0.3, 0.05]
    with pytest.raises(ValueError, match="three or more"):
        swapped_least_likely(np.array([0.6, 0.4]))
    assert kl_divergence(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.0


def test_the_runner_up_target_swaps_the_two_most_likely_and_moves_the_answer():
    distribution = np.array([0.1, 0.5, 0.3, 0.1])
    swapped, answer = reach_reference(distribution, "runner_up", 1)
    assert swapped.tolist() == [0.1, 0.3, 0.5, 0.1] and answer == 2
    kept, answer = reach_reference(distribution, "least_likely", 1)
    assert kept.tolist() == distribution.tolist() and answer == 1  # the two least likely are equal
    assert reach_reference(np.array([0.4, 0.6]), "runner_up", 1)[1] == 0  # two choices suffice
    with pytest.raises(ValueError, match="unknown reach_target 'top'"):
        reach_reference(distribution, "top", 1)


def test_the_kl_is_an_independent_forwards_and_the_full_chain_is_faithful(setup, tokenizer):
    chain_model, queries = setup
    for query in queries:
        faithful = FaithfulEvaluator(ChainEvaluator(chain_model, tokenizer, query, EngineConfig()), 0.05)
        full = answer_choice(chain_model, query, CHAINS[0])  # row form, no engine
        reference = choice_distribution(np.array(full.scores) / np.array(query.choice_chars), 1.0)
        for chain in CHAINS:
            outcome = answer_choice(chain_model, query, chain)
            own = choice_distribution(np.array(outcome.scores) / np.array(query.choice_chars), 1.0)
            assert faithful.kl(chain) == pytest.approx(kl_divergence(reference, own), abs=1e-4)
            expected = (
                outcome.prediction_norm == full.prediction_norm and kl_divergence(reference, own) <= 0.05
            )
            assert faithful(chain) == float(expected) or abs(kl_divergence(reference, own) - 0.05) < 1e-4
        assert faithful(CHAINS[0]) == 1.0 and faithful.kl(CHAINS[0]) == 0.0


def test_no_answer_key_is_read(setup, tokenizer):
    chain_model, queries = setup
    for query in queries:
        other_gold = replace(query, gold=(query.gold + 1) % len(query.continuation_ids))
        for target in (None, "least_likely", "runner_up"):
            if target == "least_likely" and len(query.continuation_ids) < 3:
                continue
            first, second = (
                FaithfulEvaluator(
                    ChainEvaluator(chain_model, tokenizer, q, EngineConfig()), 0.2, reach_target=target
                )
                for q in (query, other_gold)
            )
            assert [first(chain) for chain in CHAINS] == [second(chain) for chain in CHAINS]
            assert [first.kl(chain) for chain in CHAINS] == [second.kl(chain) for chain in CHAINS]


def test_the_reach_control_aims_at_the_swapped_distribution(setup, tokenizer):
    chain_model, queries = setup
    query = next(q for q in queries if len(q.continuation_ids) >= 4)
    evaluator = ChainEvaluator(chain_model, tokenizer, query, EngineConfig())
    faithful, reach = (
        FaithfulEvaluator(evaluator, 0.05),
        FaithfulEvaluator(evaluator, 0.05, reach_target="least_likely"),
    )
    assert np.allclose(reach.reference, swapped_least_likely(faithful.reference))
    assert reach.kl(CHAINS[0]) == pytest.approx(kl_divergence(reach.reference, faithful.reference))
    runner_up = FaithfulEvaluator(evaluator, 1e6, reach_target="runner_up")
    top, second = np.argsort(-faithful.reference, kind="stable")[:2]
    assert runner_up.answer == second and runner_up.reference[second] == faithful.reference[top]
    assert runner_up(CHAINS[0]) == 0.0  # the full chain answers otherwise: outside every bound


def test_a_search_finds_a_shorter_faithful_chain_when_the_bound_allows(setup, tokenizer):
    chain_model, queries = setup
    faithful = FaithfulEvaluator(ChainEvaluator(chain_model, tokenizer, queries[0], EngineConfig()), 10.0)
    result = descent_search(
        faithful,
        4,
        SearchConfig(name="descent", simulations=20, stop=StopRule(enabled=False)),
        np.random.default_rng(0),
    )
    best = result.best_chain
    assert len(best) < 4 and faithful(best) == 1.0 and faithful.kl(best) <= 10.0


def test_faithful_tokens_read_the_first_differing_token(tokenizer):
    chain_model = ChainModel(build_tiny_model("llama"))
    task = TaskConfig("gsm8k", mode="direct", path=GSM_PATH, max_new_tokens=8)
    for query in build_queries(load_examples(task), tokenizer, task):
        naive = ChainEvaluator(chain_model, tokenizer, query, EngineConfig(reuse_prefixes=False))
        reference = naive.outcome(CHAINS[0])["tokens"]
        for needed in (None, 1, 3):
            faithful = FaithfulTokensEvaluator(
                ChainEvaluator(chain_model, tokenizer, query, EngineConfig()), needed
            )
            assert faithful(CHAINS[0]) == 1.0 and faithful.agreement(CHAINS[0]) == len(reference)
            for chain in CHAINS[1:]:
                agree = agreeing_prefix(naive.outcome(chain)["tokens"], reference)
                assert faithful.agreement(chain) == min(agree, faithful.needed)  # decoding stops there
                assert faithful(chain) == float(agree >= faithful.needed)
    with pytest.raises(ValueError, match="needs a generation question"):
        FaithfulTokensEvaluator(
            ChainEvaluator(
                chain_model,
                tokenizer,
                build_queries(
                    load_examples(TaskConfig("arc_easy", path=ARC_PATH)),
                    tokenizer,
                    TaskConfig("arc_easy", path=ARC_PATH),
                )[0],
            ),
            None,
        )


def test_the_settings_reach_targets_are_the_ones_built():
    assert set(REACH_TARGETS) == set(REACH_PAIRS) == set(REACH_MIN_CHOICES)
