"""The evaluator engine: prefix reuse and its memory bound never change a reward or a search."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.datasets import load_benchmark
from benchmarks.evaluator import ChainEvaluator, TargetEvaluator, shaped_reward
from benchmarks.runner import answer_choice, answer_generation
from benchmarks.tasks import TaskConfig, build_query
from cola import ChainModel
from cola.engine import EngineConfig
from search import CORRECT, SearchConfig, StopRule, search_function
from tests.conftest import build_tiny_model

ARC = load_benchmark("arc_easy", split="test", path="tests/fixtures/arc_mixed.jsonl")
GSM = load_benchmark("gsm8k", split="test", path="tests/fixtures/gsm8k_small.jsonl")
EXHAUSTIVE = SearchConfig(simulations=60, stop=StopRule(enabled=False))


@pytest.fixture(scope="module", params=["llama", "gemma3_text"])
def chain_model(request):
    return ChainModel(build_tiny_model(request.param))


def queries(tokenizer):
    return {
        "loglikelihood": build_query(ARC[2], tokenizer, TaskConfig("arc_easy")),
        "letter": build_query(ARC[0], tokenizer, TaskConfig("arc_easy", mode="letter")),
        "direct": build_query(GSM[0], tokenizer, TaskConfig("gsm8k", mode="direct", max_new_tokens=6)),
    }


def search_with(chain_model, tokenizer, query, engine_config, name="mcts"):
    evaluator = ChainEvaluator(chain_model, tokenizer, query, engine_config)
    result = search_function(name)(evaluator, chain_model.n_layers, EXHAUSTIVE, np.random.default_rng(3))
    return result, evaluator


def answers(evaluator) -> dict:
    return {chain: (d["correct"], d["prediction"]) for chain, d in evaluator.details.items()}


def work_of_unused(evaluator) -> int:
    """Work items spent on chains computed ahead that the search never asked for."""
    unused = [chain for chain in evaluator.outcomes if chain not in evaluator.details]
    return sum(len(chain) * max(1, len(evaluator.outcomes[chain].get("tokens", []))) for chain in unused)


@pytest.mark.parametrize("mode", ["loglikelihood", "letter", "direct"])
@pytest.mark.parametrize("name", ["mcts", "greedy"])
@pytest.mark.parametrize("lookahead", [1, 8])
def test_engine_gives_identical_search_results(chain_model, tokenizer, mode, name, lookahead):
    query = queries(tokenizer)[mode]
    naive, naive_eval = search_with(chain_model, tokenizer, query, EngineConfig(reuse_prefixes=False), name)
    engine, engine_eval = search_with(chain_model, tokenizer, query, EngineConfig(lookahead=lookahead), name)
    assert list(engine.rewards.items()) == list(naive.rewards.items())
    assert answers(engine_eval) == answers(naive_eval)  # same predictions, not just same rewards
    for chain, outcome in engine_eval.details.items():  # decoding may stop early, never differ
        naive_tokens = naive_eval.details[chain].get("tokens", [])
        assert naive_tokens[: len(outcome.get("tokens", []))] == outcome.get("tokens", [])
    stats = engine_eval.stats
    assert stats.token_layer_forwards < naive_eval.stats.token_layer_forwards
    if lookahead == 1:
        assert stats.layer_forwards == stats.ideal_layer_forwards < naive_eval.stats.layer_forwards
        assert stats.speculative == 0
    else:
        # Chains are computed ahead, and together: some of that work goes unused, nothing else is extra.
        assert stats.speculative == len(engine_eval.outcomes) - len(engine_eval.details)
        assert stats.ideal_layer_forwards <= stats.layer_forwards
        assert stats.layer_forwards <= stats.ideal_layer_forwards + work_of_unused(engine_eval)


def test_tiny_prefix_cache_evicts_but_changes_nothing(chain_model, tokenizer):
    query = queries(tokenizer)["loglikelihood"]
    roomy, _ = search_with(chain_model, tokenizer, query, EngineConfig())
    tight, tight_eval = search_with(chain_model, tokenizer, query, EngineConfig(prefix_cache_mb=0.05))
    assert tight_eval.stats.evictions > 0
    assert tight_eval.cache.bytes <= 0.05 * 2**20
    assert list(tight.rewards.items()) == list(roomy.rewards.items())


@pytest.mark.parametrize("mode", ["loglikelihood", "letter"])
def test_engine_agrees_with_the_evaluation_harness(chain_model, tokenizer, mode):
    query = queries(tokenizer)[mode]
    evaluator = ChainEvaluator(chain_model, tokenizer, query)
    for chain in [(0, 1, 2, 3), (0, 2, 3), (0, 0, 1, 3, 3), (3, 2, 1, 0)]:
        reward = evaluator(chain)
        outcome = answer_choice(chain_model, query, chain)
        assert reward == float(outcome.correct)
        assert evaluator.details[chain]["prediction"] == outcome.prediction


def test_engine_generation_agrees_with_the_harness(chain_model, tokenizer):
    query = queries(tokenizer)["direct"]
    evaluator = ChainEvaluator(chain_model, tokenizer, query)
    for chain in [(0, 1, 2, 3), (0, 1, 1, 3), (0, 1)]:  # (0, 1) after (0, 1, ...): a pure prefix hit
        reward = evaluator(chain)
        graded = answer_generation(chain_model, tokenizer, [query], chain)[0]
        assert reward == float(graded["correct"])
        assert evaluator.details[chain]["prediction"] == graded["prediction"]


def test_layer_forwards_count_only_new_steps(tokenizer):
    chain_model = ChainModel(build_tiny_model("llama"))
    evaluator = ChainEvaluator(chain_model, tokenizer, queries(tokenizer)["letter"])
    evaluator((0, 1, 2, 3))
    evaluator((0, 1, 3))  # shares (0, 1): runs one new step
    evaluator((0, 1, 2, 3, 3))  # shares (0, 1, 2, 3): runs one new step
    assert evaluator.stats.layer_forwards == 4 + 1 + 1
    assert evaluator.stats.prefix_hits == 2 + 4


@torch.inference_mode()
def test_prefix_hidden_states_are_bitwise_those_of_a_full_recompute(tokenizer):
    chain_model = ChainModel(build_tiny_model("qwen2"))
    query = queries(tokenizer)["loglikelihood"]
    evaluator = ChainEvaluator(chain_model, tokenizer, query)
    evaluator((0, 1, 2, 3))
    evaluator((0, 1, 3, 3))
    packed = query.packed
    hidden = chain_model.embed(packed.input_ids)
    inputs = chain_model.packed_inputs(hidden, packed.position_ids, packed.visible)
    expected = chain_model.run_steps(hidden, (0, 1, 3, 3), inputs)
    assert torch.equal(evaluator.cache.get(((), (0, 1, 3, 3)))[0], expected)


def test_generation_reuses_decode_work_across_chains_that_share_prefix_and_text(tokenizer):
    chain_model = ChainModel(build_tiny_model("llama"))
    query = queries(tokenizer)["direct"]
    engine = ChainEvaluator(chain_model, tokenizer, query)
    naive = ChainEvaluator(chain_model, tokenizer, query, EngineConfig(reuse_prefixes=False))
    chains = [(0, 1, 2, 3), (0, 1, 2, 3, 3), (0, 1, 2, 2, 3)]
    for chain in chains:
        assert engine(chain) == naive(chain)
    assert answers(engine) == answers(naive)
    generated = [len(naive.details[chain]["tokens"]) for chain in chains]
    assert naive.stats.layer_forwards == sum(n * len(c) for n, c in zip(generated, chains, strict=True))
    # The second chain extends the first: every token's first four steps are cache hits.
    assert engine.stats.layer_forwards == engine.stats.ideal_layer_forwards < naive.stats.layer_forwards


def test_chains_decoded_together_match_chains_decoded_alone(chain_model, tokenizer):
    query = queries(tokenizer)["direct"]
    chains = [(0, 1, 2, 3), (0, 2, 3), (0, 1, 1, 2, 3), (1, 2, 3), (3, 2, 1, 0)]
    together = ChainEvaluator(chain_model, tokenizer, query, EngineConfig(lookahead=8))
    together.hint(chains, certain=len(chains))
    together(chains[0])
    assert set(together.outcomes) == set(chains)  # one request decoded every hinted chain
    assert together.stats.speculative == len(chains) - 1
    alone = ChainEvaluator(chain_model, tokenizer, query, EngineConfig(lookahead=8))
    for chain in chains:
        assert together(chain) == alone(chain)
    assert together.details == alone.details
    assert together.stats.speculative == 0
    assert together.stats.layer_forwards == alone.stats.layer_forwards  # the same work items, batched


def test_lookahead_grows_with_what_the_search_has_asked_for(tokenizer):
    chain_model = ChainModel(build_tiny_model("llama"))
    query = queries(tokenizer)["direct"]
    chains = [(0, 1, 2, 3), (0, 2, 3), (0, 1, 1, 2, 3), (1, 2, 3), (3, 2, 1, 0), (0, 1, 3), (0, 3)]
    evaluator = ChainEvaluator(chain_model, tokenizer, query, EngineConfig(lookahead=8))
    evaluator.hint(chains)  # only the first is certain
    computed = []
    for chain in chains[:4]:
        evaluator(chain)
        computed.append(len(evaluator.outcomes))
    assert computed == [1, 3, 3, 7]  # 1 alone, then 1 + 1 asked before, then 1 + 3 asked before


def test_choice_queries_compute_ahead_only_what_is_certain(chain_model, tokenizer):
    """A prompt's layers are bound by arithmetic: only chains sure to be asked for go together."""
    evaluator = ChainEvaluator(chain_model, tokenizer, queries(tokenizer)["loglikelihood"])
    chains = [(0, 1, 2, 3), (0, 2, 3), (1, 2, 3), (0, 1, 3), (0, 3)]
    evaluator.hint(chains, certain=3)  # an early stop may come: nothing ahead
    evaluator(chains[0])
    assert set(evaluator.outcomes) == {chains[0]}
    evaluator = ChainEvaluator(chain_model, tokenizer, queries(tokenizer)["loglikelihood"])
    evaluator.hint(chains, certain=3, may_stop=False)
    evaluator(chains[0])
    assert set(evaluator.outcomes) == set(chains[:3])
    for chain in chains[1:4]:
        evaluator(chain)
    assert set(evaluator.outcomes) == set(chains[:4])  # past the certain ones: one at a time
    alone = ChainEvaluator(chain_model, tokenizer, queries(tokenizer)["loglikelihood"])
    assert [alone(chain) for chain in chains[:4]] == [evaluator(chain) for chain in chains[:4]]
    assert answers(alone) == answers(evaluator)


def test_mcts_hints_children_in_the_order_it_tries_them(chain_model, tokenizer):
    query = queries(tokenizer)["letter"]
    hints: list[list[tuple[int, ...]]] = []

    class Recording(ChainEvaluator):
        def hint(self, chains, **options):
            hints.append((list(chains), options))
            super().hint(chains, **options)

    evaluator = Recording(chain_model, tokenizer, query, EngineConfig(lookahead=1))
    result = search_function("mcts")(evaluator, chain_model.n_layers, EXHAUSTIVE, np.random.default_rng(3))
    root_children, options = hints[0]
    tried = list(result.rewards)[1 : 1 + len(root_children)]  # after the full chain itself
    assert tried == root_children
    # Every child of the root comes before anything deeper, so all are certain (budget allowing).
    assert options["certain"] == min(len(root_children), EXHAUSTIVE.simulations)
    assert options["may_stop"] is False  # EXHAUSTIVE has no early stop
    assert all(later["certain"] == 1 for _, later in hints[1:])


def test_lookahead_one_never_computes_ahead(tokenizer):
    chain_model = ChainModel(build_tiny_model("llama"))
    evaluator = ChainEvaluator(
        chain_model, tokenizer, queries(tokenizer)["direct"], EngineConfig(lookahead=1)
    )
    chains = [(0, 1, 2, 3), (0, 2, 3), (1, 2, 3), (0, 1, 3)]
    evaluator.hint(chains, certain=2)
    for chain in reversed(chains):  # asked out of order, past the certain ones first
        evaluator(chain)
        assert set(evaluator.outcomes) == set(evaluator.details)


BF16_SCORE_TOLERANCE = 0.02  # nats per choice; measured worst 0.008 (llama) and 0.008 (gemma3)


@pytest.mark.parametrize("family", ["llama", "gemma3_text"])
def test_bfloat16_evaluator_gives_float32_predictions_on_the_fixtures(tokenizer, family):
    models = {
        dtype: ChainModel(build_tiny_model(family).to(dtype)) for dtype in (torch.float32, torch.bfloat16)
    }
    for example in ARC:
        query = build_query(example, tokenizer, TaskConfig("arc_easy"))
        for chain in [(0, 1, 2, 3), (0, 2, 3), (0, 1, 1, 2, 3)]:
            full, low = (ChainEvaluator(model, tokenizer, query).outcome(chain) for model in models.values())
            assert low["prediction"] == full["prediction"], (example.id, chain)
            assert (
                max(abs(a - b) for a, b in zip(full["scores"], low["scores"], strict=True))
                <= BF16_SCORE_TOLERANCE
            )


def test_shaped_reward_is_dense_and_above_half_exactly_when_the_target_is_picked():
    outcome = {"scores": [-3.0, -1.0, -2.0]}
    assert (
        shaped_reward(True, outcome, 1, "binary") == 1.0 and shaped_reward(False, outcome, 0, "binary") == 0.0
    )
    picked = shaped_reward(True, outcome, 1, "margin")
    assert picked == pytest.approx((1 + 1 / (1 + np.exp(-1.0))) / 2)
    near, far = shaped_reward(False, outcome, 2, "margin"), shaped_reward(False, outcome, 0, "margin")
    assert picked > 0.5 > near > far > 0  # a near miss (margin -1) outranks a rout (margin -2)
    normalized = {"scores": [-4.0, -3.0], "decisive_scores": [-1.0, -3.0]}  # acc_norm decides
    assert shaped_reward(True, normalized, 0, "margin") > 0.5


@pytest.mark.parametrize("mode", ["loglikelihood", "letter"])
def test_margin_reward_grades_like_binary_for_gold_and_for_a_placebo(chain_model, tokenizer, mode):
    query = queries(tokenizer)[mode]
    dense = ChainEvaluator(chain_model, tokenizer, query, reward="margin")
    binary = ChainEvaluator(chain_model, tokenizer, query)
    placebo = (query.gold + 1) % len(dense.outcome(tuple(range(chain_model.n_layers)))["scores"])
    chains = [(0, 1, 2, 3), (0, 2, 3), (0, 1, 1, 2, 3), (3, 2, 1, 0), (1, 3)]
    rewards = [dense(chain) for chain in chains]
    assert [reward > CORRECT for reward in rewards] == [binary(chain) == 1.0 for chain in chains]
    assert len(set(rewards)) == len(chains)  # dense: every chain its own value
    target, target_binary = TargetEvaluator(dense, placebo), TargetEvaluator(binary, placebo)
    assert [target(chain) > CORRECT for chain in chains] == [target_binary(chain) == 1.0 for chain in chains]


def test_margin_reward_refuses_a_generation_query(tokenizer):
    with pytest.raises(ValueError, match="reward=margin needs a multiple-choice benchmark"):
        ChainEvaluator(
            ChainModel(build_tiny_model("llama")), tokenizer, queries(tokenizer)["direct"], reward="margin"
        )
