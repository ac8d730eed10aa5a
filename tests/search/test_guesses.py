"""The model's own tries: draws follow the distribution, ranks come in order, pass@k is exact."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from search.guesses import (
    change_share,
    choice_distribution,
    choice_ranks,
    first_hit,
    matched_temperature,
    ranked_answers,
    sampled_answers,
    sampling_pass_at_k,
)

SCORES = [-3.0, -1.0, -2.0, -4.5]  # the full chain answers choice 1; runner-up 2, then 0, then 3


def test_draws_follow_the_full_chains_distribution():
    for temperature in (0.5, 1.0, 3.0):
        draws = sampled_answers(SCORES, temperature, 40_000, np.random.default_rng(0))
        observed = np.bincount(draws, minlength=len(SCORES))
        expected = choice_distribution(SCORES, temperature) * len(draws)
        # A chi-square goodness-of-fit test: a wrong temperature or an off-by-one choice fails it.
        assert stats.chisquare(observed, expected).pvalue > 1e-3
    wrong = np.bincount(sampled_answers(SCORES, 2.0, 40_000, np.random.default_rng(0)), minlength=4)
    assert stats.chisquare(wrong, choice_distribution(SCORES, 1.0) * 40_000).pvalue < 1e-6


def test_ranks_and_ranked_tries_come_in_order():
    assert choice_ranks(SCORES) == [2, 0, 1, 3]
    assert choice_ranks([0.0, 1.0, 1.0]) == [2, 0, 1]  # a tie: the lower index first, as argmax
    assert ranked_answers(SCORES, 1) == [2]  # the runner-up
    assert ranked_answers(SCORES, 25) == [2, 0, 3]  # every other answer, then nothing more


def test_sampling_pass_at_k_matches_brute_force_enumeration():
    scores, temperature = [0.3, -0.2, -1.5], 0.8
    probabilities = choice_distribution(scores, temperature)
    for target, k in itertools.product(range(3), (1, 2, 4)):
        brute = sum(
            np.prod([probabilities[c] for c in draws])
            for draws in itertools.product(range(3), repeat=k)
            if target in draws
        )
        assert sampling_pass_at_k(scores, temperature, target, k) == pytest.approx(brute, abs=1e-12)
    # and the sampler's "first try within k" agrees with it
    hits = [
        first_hit([d == 2 for d in sampled_answers(scores, temperature, 4, np.random.default_rng(seed))])
        for seed in range(4000)
    ]
    within = np.mean([h is not None for h in hits])
    assert within == pytest.approx(sampling_pass_at_k(scores, temperature, 2, 4), abs=0.025)


def test_first_hit_counts_the_full_chain_as_evaluation_zero():
    assert first_hit([True, True]) == 0
    assert first_hit([False, False, True]) == 2
    assert first_hit([False, False]) is None


def test_matched_temperature_gives_the_wanted_change_share():
    questions = [SCORES, [0.0, -0.1, -3.0, -3.0], [-1.0, -9.0, -9.0, -9.0]]
    temperature = matched_temperature(questions, 0.4)
    assert np.mean([change_share(q, temperature) for q in questions]) == pytest.approx(0.4, abs=1e-6)
    with pytest.raises(ValueError, match="no temperature"):
        matched_temperature(questions, 0.9)  # above 1 - 1/4: no temperature gets there
    with pytest.raises(ValueError, match="temperature must be > 0"):
        choice_distribution(SCORES, 0.0)
