"""What every search returns, and the evaluator seam through which it sees the model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from search.guesses import first_hit

Chain = tuple[int, ...]
"""Original layer indices in execution order: the same alias as ``cola.Chain`` (this package
may not import ``cola``; a test checks the two agree)."""


class Evaluator(Protocol):
    def __call__(self, chain: Chain) -> float:
        """Reward in [0, 1] of ``chain``; above :data:`CORRECT` means it answers correctly."""


@runtime_checkable
class HintedEvaluator(Evaluator, Protocol):
    def hint(self, chains: Sequence[Chain], *, certain: int = 1, may_stop: bool = True) -> None:
        """The search will likely ask for ``chains`` next, in this order, and surely for the first
        ``certain`` unless it stops early (``may_stop``); an evaluator may compute them together."""


CORRECT = 0.5  # a reward above this counts as a correct answer


@dataclass(frozen=True)
class StopRule:
    """Early stop, as in the CoLa reference: a correction, or a correct chain >= ``min_saving`` shorter."""

    enabled: bool = True
    min_saving: int = 2

    def should_stop(self, reward: float, chain: Chain, *, original_reward: float, n_layers: int) -> bool:
        if not self.enabled or reward <= CORRECT:
            return False
        # Compare correctness, not rewards: a dense reward may rank two correct chains.
        return original_reward <= CORRECT or len(chain) + self.min_saving <= n_layers


@dataclass
class SearchResult:
    """Every chain a search evaluated, in evaluation order, with its reward."""

    n_layers: int
    original_reward: float
    rewards: dict[Chain, float] = field(default_factory=dict)
    iterations: int = 0
    stopped_early: bool = False

    @property
    def correct_chains(self) -> list[Chain]:
        return [chain for chain, reward in self.rewards.items() if reward > CORRECT]

    @property
    def best_chain(self) -> Chain | None:
        """Shortest correct chain, then fewest distinct layers (the CoLa reference's order)."""
        correct = self.correct_chains
        return min(correct, key=lambda chain: (len(chain), len(set(chain)))) if correct else None

    @property
    def first_correct_evaluation(self) -> int | None:
        """How many chains after the full one were evaluated up to the first correct one (the
        full chain itself, when correct, counts 0); None if none is correct. A search with a
        budget of k evaluations finds a correct chain iff this is at most k: selection never
        depends on the budget."""
        return first_hit([reward > CORRECT for reward in self.rewards.values()])


class MemoEvaluator:
    """Memoizes an evaluator and records each distinct chain's reward in a :class:`SearchResult`."""

    def __init__(self, evaluator: Evaluator, result: SearchResult):
        self.evaluator = evaluator
        self.result = result

    def hint(
        self, chains: list[Chain], *, certain: int = 1, budget: int | None = None, may_stop: bool = True
    ) -> None:
        """Tell an evaluator that can compute ahead which chains will likely come next, in order:
        the first ``certain`` of them will be asked for unless the search stops early (``may_stop``:
        its early stop is on), and no more than ``budget`` more chains will be asked for at all."""
        if isinstance(self.evaluator, HintedEvaluator):
            fresh = [chain for chain in chains if chain not in self.result.rewards]
            self.evaluator.hint(
                fresh[:budget] if budget is not None else fresh, certain=certain, may_stop=may_stop
            )

    def __call__(self, chain: Chain) -> float:
        if chain not in self.result.rewards:
            self.result.rewards[chain] = float(self.evaluator(chain))
        return self.result.rewards[chain]
