"""The model's own tries: answers drawn from or ranked by the full chain's choice scores.

The yardstick every chain search must beat. A chain that only flips near-ties reaches gold more
often than a placebo because, on a wrongly answered question, gold is often the full chain's
runner-up; answering the runner-up, or sampling the full chain's answer distribution, gets that
much with no chain at all. These searches evaluate no chain: each try is an answer, and try k
plays the part of chain evaluation k (evaluation 0 is the full chain's own answer), so
"reached within k" means the same for them as for a chain search.

* ``sample``: k independent draws from softmax(scores / temperature) (the scores in the task's
  metric, the ones that decide the prediction);
* ``rank``: try k is the full chain's k-th most likely choice (k = 1: the runner-up); with n
  choices every answer has been tried after n - 1 tries, so it stops there.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def choice_ranks(scores: Sequence[float]) -> list[int]:
    """Each choice's rank by score, 0 = the full chain's answer; ties keep the lower index first,
    as the prediction's argmax does."""
    order = sorted(range(len(scores)), key=lambda choice: (-scores[choice], choice))
    ranks = [0] * len(scores)
    for rank, choice in enumerate(order):
        ranks[choice] = rank
    return ranks


def choice_distribution(scores: Sequence[float], temperature: float) -> np.ndarray:
    """softmax(scores / temperature): the full chain's answer distribution at that temperature."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    logits = np.asarray(scores, dtype=float) / temperature
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()


def sampled_answers(
    scores: Sequence[float], temperature: float, tries: int, rng: np.random.Generator
) -> list[int]:
    """``tries`` independent draws of an answer from the full chain's distribution."""
    probabilities = choice_distribution(scores, temperature)
    return [int(choice) for choice in rng.choice(len(probabilities), size=tries, p=probabilities)]


def ranked_answers(scores: Sequence[float], tries: int) -> list[int]:
    """The runner-up, then the third most likely choice, ...: at most ``tries`` and n - 1 answers."""
    ranks = choice_ranks(scores)
    by_rank = sorted(range(len(scores)), key=ranks.__getitem__)
    return by_rank[1 : tries + 1]


def first_hit(hits: Sequence[bool]) -> int | None:
    """The first evaluation that reaches the target, 0 being the full chain's own answer and k the
    k-th try or chain after it; None if none does. The one reading of "reached within k" for every
    search: reached within k iff this is not None and at most k."""
    return next((index for index, hit in enumerate(hits) if hit), None)


def sampling_pass_at_k(scores: Sequence[float], temperature: float, target: int, k: int) -> float:
    """The exact chance that k draws at ``temperature`` include ``target``: 1 - (1 - p)^k."""
    return float(1.0 - (1.0 - choice_distribution(scores, temperature)[target]) ** k)


def change_share(scores: Sequence[float], temperature: float) -> float:
    """The chance that one draw differs from the full chain's answer: 1 - p(top)."""
    probabilities = choice_distribution(scores, temperature)
    return float(1.0 - probabilities[choice_ranks(scores).index(0)])


def matched_temperature(
    scores_per_question: Sequence[Sequence[float]], target_share: float, *, low=1e-3, high=1e3
) -> float:
    """The temperature at which draws change the full chain's answer, averaged over questions, as
    often as ``target_share`` (the share of random chains that change it): bisection in log T, the
    mean change share rising with T from 0 toward 1 - 1/n."""
    if not scores_per_question:
        raise ValueError("no questions to match the temperature on")

    def share(temperature: float) -> float:
        return float(np.mean([change_share(scores, temperature) for scores in scores_per_question]))

    if not share(low) <= target_share <= share(high):
        raise ValueError(
            f"no temperature in [{low}, {high}] gives a change share of {target_share:.3f} "
            f"(it spans {share(low):.3f}–{share(high):.3f})"
        )
    log_low, log_high = np.log(low), np.log(high)
    for _ in range(100):
        middle = (log_low + log_high) / 2
        if share(float(np.exp(middle))) < target_share:
            log_low = middle
        else:
            log_high = middle
    return float(np.exp((log_low + log_high) / 2))
