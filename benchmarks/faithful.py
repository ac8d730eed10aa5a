"""Faithfulness to the full chain as a search's reward: no answer key is read.

A chain is faithful on a multiple-choice question when it picks the full chain's answer and its
choice distribution (softmax of the choice scores in the task's metric, the scores that decide the
answer) is within ``kl_bound`` nats of the full chain's: KL(full || chain). The reach control aims
the same search at a distribution the model does not produce: the full chain's with its two least
likely choices' probabilities swapped (the answer stays the same), so how short a chain gets that
reproduces something arbitrary can be read beside how short a faithful one gets. On these models
the two least likely choices often hold nearly equal crumbs, so that target can lie within the
tightest bound of the full chain's own; ``reach_target="runner_up"`` swaps the two most likely
instead: its answer is the full chain's runner-up, outside every bound by construction.

On generation a chain is faithful when its greedy tokens equal the full chain's for the first t
tokens (all of the full chain's answer by default). Its reach control aims at an answer the model
does not give: the full chain's runner-up first token, then the full chain's own greedy
continuation of it, cut where the full chain's answer would be cut.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from benchmarks.evaluator import ChainEvaluator, decisive_scores
from search.guesses import choice_distribution
from search.types import Chain


def decisive_distribution(outcome: dict) -> np.ndarray:
    """softmax of the scores that decide an outcome's answer (per character for acc_norm)."""
    return choice_distribution(decisive_scores(outcome), 1.0)


def kl_divergence(reference: np.ndarray, other: np.ndarray) -> float:
    """KL(reference || other) in nats; choices the reference gives no mass add nothing."""
    mask = reference > 0
    return float(
        np.sum(reference[mask] * (np.log(reference[mask]) - np.log(np.maximum(other[mask], 1e-300))))
    )


def least_likely_pair(distribution: np.ndarray) -> tuple[int, int]:
    """The two least likely choices (ties: the first-listed counts as less likely)."""
    if len(distribution) < 3:
        raise ValueError("the reach control swaps the two least likely choices; it needs three or more")
    low, second = np.argsort(distribution, kind="stable")[:2]
    return int(low), int(second)


def most_likely_pair(distribution: np.ndarray) -> tuple[int, int]:
    """The top choice and the runner-up (ties: the first-listed is the top, as argmax takes it)."""
    if len(distribution) < 2:
        raise ValueError("the runner-up reach control needs two or more choices")
    top, runner_up = np.argsort(-distribution, kind="stable")[:2]
    return int(top), int(runner_up)


REACH_PAIRS = {"least_likely": least_likely_pair, "runner_up": most_likely_pair}
# the fewest choices each reach target can be built from
REACH_MIN_CHOICES = {"least_likely": 3, "runner_up": 2}


def reach_reference(distribution: np.ndarray, target: str, answer: int) -> tuple[np.ndarray, int]:
    """The reach control's target (``search.reach_target``): the full chain's distribution with one
    pair of choices' probabilities exchanged, and the target's answer (the full chain's
    ``answer``, moved with its probability when the pair holds it)."""
    if target not in REACH_PAIRS:
        raise ValueError(f"unknown reach_target {target!r}; expected one of {tuple(REACH_PAIRS)}")
    first, second = REACH_PAIRS[target](distribution)
    swapped = distribution.copy()
    swapped[[first, second]] = distribution[[second, first]]
    return swapped, {first: second, second: first}.get(answer, answer)


def swapped_least_likely(distribution: np.ndarray) -> np.ndarray:
    """The distribution with its two least likely choices' probabilities exchanged."""
    return reach_reference(distribution, "least_likely", int(np.argmax(distribution)))[0]


def agreeing_prefix(tokens: Sequence[int], reference: Sequence[int]) -> int:
    """How many first tokens ``tokens`` shares with ``reference``."""
    count = 0
    for token, expected in zip(tokens, reference, strict=False):
        if token != expected:
            break
        count += 1
    return count


def reach_tokens(evaluator: ChainEvaluator) -> list[int]:
    """The generation reach control's reference: the full chain's runner-up first token, then the
    full chain's greedy continuation of it, cut where the evaluator would stop decoding."""
    chain_model, query = evaluator.chain_model, evaluator.query
    full = tuple(range(chain_model.n_layers))
    with torch.inference_mode():
        logits = chain_model(query.input_ids, full, logits_to_keep=1)[0, -1]
        runner_up = int(torch.topk(logits.float(), 2).indices[1])
        forced = torch.cat([query.input_ids, query.input_ids.new_tensor([[runner_up]])], dim=1)
        continued = chain_model.generate(
            forced,
            full,
            max_new_tokens=max(query.max_new_tokens - 1, 1),
            eos_token_id=evaluator.tokenizer.eos_token_id,
        )[0, forced.shape[1] :].tolist()
    tokens = [runner_up, *continued][: query.max_new_tokens]
    end = next((k for k in range(1, len(tokens) + 1) if evaluator.stops_at(tokens[:k])), len(tokens))
    return tokens[:end]


class FaithfulTokensEvaluator:
    """``chain -> 1.0 / 0.0`` on generation: do the chain's greedy tokens equal the full chain's for
    the first ``tokens`` of them (all of the full chain's answer when None)? Decoding of every other
    chain stops at its first token that differs (:meth:`ChainEvaluator.follow`). With
    ``reach_control`` the reference is :func:`reach_tokens`; since decoding then stops where chains
    leave that reference, the evaluator must not be shared with a faithful search."""

    def __init__(self, evaluator: ChainEvaluator, tokens: int | None, *, reach_control: bool = False):
        if not evaluator.generation:
            raise ValueError("faithfulness by tokens needs a generation question; multiple choice uses KL")
        if tokens is not None and tokens < 1:
            raise ValueError(f"faithful_tokens must be at least 1, got {tokens}")
        self.evaluator = evaluator
        # The full chain's own decode is the faithful reference, and must run before follow() cuts it.
        self.reference = (
            reach_tokens(evaluator)
            if reach_control
            else list(evaluator.outcome(tuple(range(evaluator.chain_model.n_layers)))["tokens"])
        )
        self.needed = len(self.reference) if tokens is None else min(tokens, len(self.reference))
        evaluator.follow(self.reference, self.needed)

    def hint(self, chains: Sequence[Chain], *, certain: int = 1, may_stop: bool = True) -> None:
        self.evaluator.hint(chains, certain=certain, may_stop=may_stop)

    def agreement(self, chain: Chain) -> int:
        """The chain's tokens that agree with the reference, from the first."""
        return agreeing_prefix(self.evaluator.outcome(chain)["tokens"], self.reference)

    def __call__(self, chain: Chain) -> float:
        return 1.0 if self.agreement(chain) >= self.needed else 0.0


class FaithfulEvaluator:
    """``chain -> 1.0 / 0.0``: does the chain pick the reference's answer and reproduce the
    reference (the full chain's choice distribution, or with ``reach_target`` the reach control's,
    :func:`reach_reference`) within ``kl_bound``? Shares the wrapped evaluator's outcomes, so a
    search and its reach control compute each chain once."""

    def __init__(self, evaluator: ChainEvaluator, kl_bound: float, *, reach_target: str | None = None):
        if evaluator.generation:
            raise ValueError("faithfulness by KL needs a multiple-choice question")
        if kl_bound < 0:
            raise ValueError(f"faithful_kl must be >= 0, got {kl_bound}")
        self.evaluator = evaluator
        self.kl_bound = kl_bound
        full = evaluator.outcome(tuple(range(evaluator.chain_model.n_layers)))
        reference = decisive_distribution(full)
        self.reference, self.answer = (
            (reference, full["prediction"])
            if reach_target is None
            else reach_reference(reference, reach_target, full["prediction"])
        )

    def hint(self, chains: Sequence[Chain], *, certain: int = 1, may_stop: bool = True) -> None:
        self.evaluator.hint(chains, certain=certain, may_stop=may_stop)

    def kl(self, chain: Chain) -> float:
        return kl_divergence(self.reference, decisive_distribution(self.evaluator.outcome(chain)))

    def __call__(self, chain: Chain) -> float:
        outcome = self.evaluator.outcome(chain)
        return 1.0 if outcome["prediction"] == self.answer and self.kl(chain) <= self.kl_bound else 0.0
