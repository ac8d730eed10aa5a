"""Descent: find a correct chain, then shorten it one removal at a time (a length-first search).

Shortening is a chain that keeps the answer with fewer layers. MCTS, with about 89 children per
node, gets no further than two edits in 200 evaluations, and random chains of 1..4 edits are at
most 8 layers shorter by construction. Descent goes deep on purpose:

1. until some chain answers correctly (the full chain, when it does), evaluate the full chain's
   single edits, the least disruptive first: by the learned prior's ``keep`` rate, the share of
   validation questions whose correct answer the edit kept (random order without a prior), then
   random chains of 1..``max_random_edits`` edits. A small perturbation flips mostly near ties, and
   a wrong answer's runner-up is gold more often than a placebo: on held-out thirds of the ARC-Easy
   validation split (``scripts/studies/compare_edit_orders.py``) this order reached gold within 25
   evaluations 0.125 more often than the placebo, the ``rank`` order 0.092, the ``score`` order
   0.084, a random order 0.061;
2. from the current correct chain, evaluate its removals (skip ``skip_sizes`` steps) in the order
   of the layers a validation split could lose most safely: the expected saving, size times the
   product of the removed layers' single-skip ``keep`` rates (without a prior every rate counts
   as 1, so the largest removals come first, in random order within a size); the first removal
   still correct becomes the current chain, and this step repeats from it;
3. when no removal of the current chain is correct, random edits of it are tried instead, and the
   first one that is correct and shorter becomes the current chain (back to step 2).

Every evaluation is a chain no step evaluated before; the early stop is every search's.
"""

from __future__ import annotations

import numpy as np

from search.actions import children
from search.baselines import DRAWS_PER_SIMULATION, random_chain, start_search, stops_here
from search.config import SearchConfig
from search.mcts import signature
from search.prior import load_keep_prior
from search.types import CORRECT, Chain, Evaluator, SearchResult


class BudgetSpent(Exception):
    """The search is over: budget spent, early stop, or nothing new left to draw."""


class Descent:
    def __init__(self, evaluator: Evaluator, n_layers: int, config: SearchConfig, rng: np.random.Generator):
        self.n_layers = n_layers
        self.config = config
        self.rng = rng
        self.result, self.memo, self.full = start_search(evaluator, n_layers)
        learned = config.prior == "learned"
        self.keep = load_keep_prior(config.prior_file, n_layers) if learned else {}
        self.draws = 0  # random draws so far, bounded by DRAWS_PER_SIMULATION

    def budget_left(self) -> int:
        return self.config.simulations + 1 - len(self.result.rewards)

    def first_correct(self, chains: list[Chain]) -> Chain | None:
        """Evaluate the new ``chains`` in order up to the first correct one."""
        fresh = [chain for chain in dict.fromkeys(chains) if chain not in self.result.rewards]
        self.memo.hint(fresh, certain=1, budget=self.budget_left(), may_stop=self.config.stop.enabled)
        for chain in fresh:
            if self.budget_left() <= 0:
                raise BudgetSpent
            self.result.iterations += 1
            reward = self.memo(chain)
            if stops_here(self.config, self.result, chain, reward):
                raise BudgetSpent
            if reward > CORRECT:
                return chain
        return None

    def ranked(self, options: dict[Chain, tuple], value) -> list[Chain]:
        """``options`` (chain -> what decides its rank) best first; ties in a seeded random order."""
        chains = list(options)
        order = self.rng.permutation(len(chains))
        return sorted((chains[i] for i in order), key=lambda chain: -value(options[chain]))

    def single_edits(self) -> list[Chain]:
        edits = {
            chain: signature(self.full, edit)
            for chain, edit in children(self.full, self.n_layers, self.config.edits).items()
        }
        return self.ranked(edits, lambda key: self.keep.get(key, 0.0))

    def removals(self, chain: Chain) -> list[Chain]:
        """Every skip of ``chain``, ranked by the expected saving (size x the removed layers' keep rates)."""
        skips = {}
        for size in (size for size in self.config.edits.skip_sizes if size < len(chain)):
            for position in range(len(chain) - size + 1):
                skips.setdefault(
                    chain[:position] + chain[position + size :], chain[position : position + size]
                )
        return self.ranked(skips, self.expected_saving)

    def expected_saving(self, layers: tuple[int, ...]) -> float:
        return len(layers) * float(np.prod([self.keep.get(("skip", layer, 1), 1.0) for layer in layers]))

    def random_correct(self, start: Chain, shorter_than: int | None) -> Chain:
        """Random edits of ``start`` until one is correct (and shorter than ``shorter_than``, if given)."""
        while self.draws < DRAWS_PER_SIMULATION * self.config.simulations:
            self.draws += 1
            chain = random_chain(self.n_layers, self.config, self.rng, start)
            if chain in self.result.rewards or (shorter_than is not None and len(chain) >= shorter_than):
                continue
            if self.first_correct([chain]) is not None:
                return chain
        raise BudgetSpent

    def run(self) -> SearchResult:
        try:
            current = self.full if self.result.original_reward > CORRECT else None
            current = (
                current or self.first_correct(self.single_edits()) or self.random_correct(self.full, None)
            )
            while True:
                current = self.first_correct(self.removals(current)) or self.random_correct(
                    current, len(current)
                )
        except BudgetSpent:
            return self.result


def descent_search(
    evaluator: Evaluator, n_layers: int, config: SearchConfig, rng: np.random.Generator
) -> SearchResult:
    return Descent(evaluator, n_layers, config, rng).run()
