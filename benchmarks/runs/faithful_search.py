"""Faithful searches (``search.reward=faithful``): chains rewarded for reproducing the full chain,
no answer key read, with the reach control aimed at another target by the same search."""

from __future__ import annotations

from benchmarks.evaluator import ChainEvaluator
from benchmarks.faithful import REACH_MIN_CHOICES, FaithfulEvaluator, FaithfulTokensEvaluator
from benchmarks.runs.search_record import (
    SearchRun,
    chain_search_fields,
    deciding_scores,
    n_choices,
    sample_rng,
    search_fields,
)
from search import SearchConfig, search_function


def generation_reach_fields(
    evaluator: ChainEvaluator, search_config: SearchConfig, run: SearchRun, example_id: str
) -> dict:
    """The same search aimed at the full chain's runner-up first token and its continuation. It
    needs its own evaluator: decoding stops where a chain leaves the reference it follows."""
    own = ChainEvaluator(evaluator.chain_model, evaluator.tokenizer, evaluator.query, evaluator.config)
    reach = FaithfulTokensEvaluator(own, search_config.faithful_tokens, reach_control=True)
    twin = search_function(search_config.name)(
        reach, evaluator.chain_model.n_layers, search_config, sample_rng(run.seed, example_id)
    )
    return search_fields(twin, "reach_") | {
        "reach_n_evaluated": len(twin.rewards),
        "reach_needed": reach.needed,
        "reach_agreements": [reach.agreement(chain) for chain in twin.rewards],
        "reach_lengths": [len(chain) for chain in twin.rewards],
    }


def faithful_fields(
    evaluator: ChainEvaluator, search_config: SearchConfig, run: SearchRun, example_id: str
) -> dict:
    """A search rewarded for reproducing the full chain (no answer key read): its chains and, per
    evaluated chain, KL(full || chain) (``kls``, multiple choice) or the first tokens agreeing with
    the full chain's (``agreements``, generation). With ``control="reach"`` the same search (same
    seed stream) aimed at the reach control's distribution, its fields prefixed ``reach_``
    (``search.reach_target``: the two least likely choices swapped, on questions with three or
    more; or the two most likely; on generation, the full chain's runner-up first token and its
    continuation)."""
    search, n_layers = search_function(search_config.name), evaluator.chain_model.n_layers
    if evaluator.generation:
        faithful = FaithfulTokensEvaluator(evaluator, search_config.faithful_tokens)
        result = search(faithful, n_layers, search_config, sample_rng(run.seed, example_id))
        fields = chain_search_fields(result, evaluator) | {
            "faithful_needed": faithful.needed,
            "agreements": [faithful.agreement(chain) for chain in result.rewards],
            "lengths": [len(chain) for chain in result.rewards],
        }
        if search_config.control == "reach":
            fields |= generation_reach_fields(evaluator, search_config, run, example_id)
        return fields
    faithful = FaithfulEvaluator(evaluator, search_config.faithful_kl)
    result = search(faithful, n_layers, search_config, sample_rng(run.seed, example_id))
    fields = chain_search_fields(result, evaluator) | {
        "faithful_kl": search_config.faithful_kl,
        "kls": [round(faithful.kl(c), 6) for c in result.rewards],
        "lengths": [len(c) for c in result.rewards],
        "scores": [deciding_scores(evaluator, c) for c in result.rewards],  # any target re-reads them
    }
    target = search_config.reach_target
    if search_config.control == "reach" and n_choices(evaluator.query) >= REACH_MIN_CHOICES[target]:
        reach = FaithfulEvaluator(evaluator, search_config.faithful_kl, reach_target=target)
        twin = search(reach, n_layers, search_config, sample_rng(run.seed, example_id))
        fields |= search_fields(twin, "reach_") | {
            "reach_target": target,
            "reach_answer": reach.answer,
            "reach_n_evaluated": len(twin.rewards),
            "reach_kls": [round(reach.kl(chain), 6) for chain in twin.rewards],
            "reach_lengths": [len(chain) for chain in twin.rewards],
            "reach_predictions": [evaluator.details[chain]["prediction"] for chain in twin.rewards],
            "reach_scores": [deciding_scores(evaluator, chain) for chain in twin.rewards],
        }
    return fields
