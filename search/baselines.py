"""Baselines with MCTS's interface, so that the value of tree search is measured, not assumed.

* random: each candidate is the full chain after 1..``max_random_edits`` random legal edits.
* greedy: evaluate every single edit of the current chain, move to the best one (reward minus the
  same length penalty MCTS uses), repeat until nothing improves or the budget is spent.

Both spend at most ``simulations`` distinct chain evaluations and use the same early stop.
"""

from __future__ import annotations

import numpy as np

from search.actions import children, legal_edits
from search.config import SearchConfig
from search.types import Chain, Evaluator, MemoEvaluator, SearchResult

# Random draws per unit of budget before a search gives up: duplicate draws cost nothing
# (memoized) but must not loop forever on tiny chain spaces.
DRAWS_PER_SIMULATION = 20


def start_search(evaluator: Evaluator, n_layers: int) -> tuple[SearchResult, MemoEvaluator, Chain]:
    """A search's result and memo, with the full chain evaluated first."""
    full = tuple(range(n_layers))
    result = SearchResult(n_layers=n_layers, original_reward=float("nan"))
    memo = MemoEvaluator(evaluator, result)
    result.original_reward = memo(full)
    return result, memo, full


def stops_here(config: SearchConfig, result: SearchResult, chain: Chain, reward: float) -> bool:
    if config.stop.should_stop(
        reward, chain, original_reward=result.original_reward, n_layers=result.n_layers
    ):
        result.stopped_early = True
        return True
    return False


def random_chain(
    n_layers: int, config: SearchConfig, rng: np.random.Generator, start: Chain | None = None
) -> Chain:
    """``start`` (the full chain by default) after 1..``max_random_edits`` random legal edits."""
    chain = start if start is not None else tuple(range(n_layers))
    for _ in range(int(rng.integers(1, config.max_random_edits + 1))):
        edits = legal_edits(chain, n_layers, config.edits)
        if not edits:  # a one-layer chain with repeats off: nothing left to edit
            break
        chain = edits[rng.integers(len(edits))].apply(chain)
    return chain


def random_search(
    evaluator: Evaluator, n_layers: int, config: SearchConfig, rng: np.random.Generator
) -> SearchResult:
    result, memo, _ = start_search(evaluator, n_layers)
    attempts = 0
    while (
        len(result.rewards) < config.simulations + 1 and attempts < DRAWS_PER_SIMULATION * config.simulations
    ):
        attempts += 1
        chain = random_chain(n_layers, config, rng)
        if chain in result.rewards:
            continue
        result.iterations += 1
        if stops_here(config, result, chain, memo(chain)):
            break
    return result


def greedy_search(
    evaluator: Evaluator, n_layers: int, config: SearchConfig, rng: np.random.Generator
) -> SearchResult:
    result, memo, current = start_search(evaluator, n_layers)

    def score(chain: Chain) -> float:
        return result.rewards[chain] - config.length_penalty * len(chain) / n_layers

    while True:
        candidates = list(children(current, n_layers, config.edits))
        rng.shuffle(candidates)  # ties are broken at random, reproducibly under the seed
        budget = config.simulations + 1 - len(result.rewards)
        memo.hint(
            candidates, certain=budget, budget=budget, may_stop=config.stop.enabled
        )  # all, budget allowing
        for chain in candidates:
            if len(result.rewards) > config.simulations:
                return result
            if chain in result.rewards:
                continue
            result.iterations += 1
            if stops_here(config, result, chain, memo(chain)):
                return result
        evaluated = [chain for chain in candidates if chain in result.rewards]
        best = max(evaluated, key=score, default=None)
        if best is None or score(best) <= score(current):
            return result
        current = best
