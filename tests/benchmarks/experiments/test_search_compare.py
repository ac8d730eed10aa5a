"""Comparisons like with like (common reach, same samples, Holm) and the equal-margin test on
synthetic records whose is-gold effect is known."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.experiments.equal_margin import chain_units, equal_margin_test, search_units
from benchmarks.experiments.search_compare import paired_comparisons, secondary_family
from benchmarks.experiments.search_summary import placebo_summary
from benchmarks.experiments.stats import holm


def test_holm_matches_a_hand_worked_example():
    # sorted p: 0.01 (x4 = 0.04), 0.02 (x3 = 0.06), 0.03 (x2 = 0.06), 0.20 (x1 = 0.20)
    assert holm([0.03, 0.01, 0.20, 0.02]) == pytest.approx([0.06, 0.04, 0.20, 0.06])
    assert holm([0.5, 0.4]) == pytest.approx([0.8, 0.8])  # monotone: the larger p is not adjusted below
    assert holm([0.9, 0.8, 0.7]) == [1.0, 1.0, 1.0]


def record(
    qid: str, *, search: str, gold_first, placebo_first, spent: int, gold_rank=1, placebo_rank=2
) -> dict:
    return {
        "id": qid,
        "search": search,
        "original_correct": False,
        "n_layers": 4,
        "n_evaluated": spent + 1,
        "iterations": spent,
        "gold": 0,
        "placebo": 2,
        "gold_rank": gold_rank,
        "placebo_rank": placebo_rank,
        "full_scores": [-1.0, -0.5, -1.5, -3.0],
        "first_correct_evaluation": gold_first,
        "best_chain": "0-3" if gold_first is not None else None,
        "best_length": 4 if gold_first is not None else None,
        "placebo_first_correct_evaluation": placebo_first,
        "placebo_best_chain": "0-3" if placebo_first is not None else None,
        "placebo_best_length": 4 if placebo_first is not None else None,
        "placebo_n_evaluated": spent + 1,
        "seconds": 1.0,
        "gold_picks": 1 if gold_first is not None else 0,
        "placebo_picks": 1 if placebo_first is not None else 0,
        "placebo_extra_chains": 0,
        "placebo_seconds": 0.0,
    }


def test_runs_of_different_budgets_compare_within_the_shorter_ones_reach():
    # The long run corrects every sample, but only after 30 evaluations: within the short run's 10
    # it corrects none, and the comparison must say so rather than 1.0 against 0.0.
    long = [record(f"q{i}", search="mcts", gold_first=30, placebo_first=None, spent=50) for i in range(8)]
    short = [
        record(f"q{i}", search="random", gold_first=None, placebo_first=None, spent=10) for i in range(8)
    ]
    line = paired_comparisons({"long": long, "short": short})[0]
    assert "within 10 evaluations" in line and "correction 0.000 vs 0.000" in line and "p = 1.000" in line


def test_the_secondary_family_pairs_each_chain_search_with_the_tries_and_holm_adjusts_it():
    n = 30
    chain = [record(f"q{i}", search="descent", gold_first=1, placebo_first=None, spent=25) for i in range(n)]
    matched = [
        record(f"q{i}", search="sample_matched", gold_first=None, placebo_first=None, spent=25)
        for i in range(n)
    ]
    rank = [record(f"q{i}", search="rank", gold_first=1, placebo_first=2, spent=3) for i in range(n)]
    family = secondary_family({"descent": chain, "sample_matched": matched, "rank": rank})["descent"]
    assert [(row["against"], row["budget"]) for row in family] == [
        ("sample_matched", 1),
        ("sample_matched", 5),
        ("sample_matched", 10),
        ("rank", 1),
        ("rank", 2),
    ]
    assert family[0]["difference"] == 1.0 and family[0]["p"] < 0.001
    # Three equal smallest p-values (the matched comparisons) are each multiplied by 5 - 0 = 5 at most.
    assert family[0]["p_holm"] == pytest.approx(5 * family[0]["p"])
    assert family[3]["difference"] == 0.0  # rank reaches gold at its first try as the chain search does
    assert family[4]["difference"] == 1.0  # within 2 rank has reached the placebo too: genuine 0
    assert all(row["p_holm"] >= row["p"] for row in family)


def test_paired_means_average_the_samples_where_both_targets_were_reached():
    records = [
        record("a", search="descent", gold_first=2, placebo_first=4, spent=25),
        record("b", search="descent", gold_first=20, placebo_first=None, spent=25),  # not both: left out
    ]
    summary = placebo_summary(records)
    assert summary["mean_first_correct_evaluation_n_both"] == 1
    assert (
        summary["mean_first_correct_evaluation_gold"] == 2
        and summary["mean_first_correct_evaluation_placebo"] == 4
    )
    assert summary["runner_up_share"] == 1.0 and summary["gold_runner_up"]["n"] == 2


def synthetic_questions(
    n: int, effect: float, rng: np.random.Generator
) -> list[tuple[list[float], int, int]]:
    """Questions the full chain gets wrong: scores, gold (rank 1-3), a placebo (another non-top)."""
    questions = []
    for _ in range(n):
        scores = sorted(rng.normal(0, 1.5, size=4).tolist(), reverse=True)  # choice 0 is the answer
        gold = int(rng.integers(1, 4))
        placebo = int(rng.choice([c for c in (1, 2, 3) if c != gold]))
        questions.append((scores, gold, placebo))
    return questions


def reach_chance(scores, target, is_gold, effect):
    # Near-ties are reached more (gap), and gold more again by ``effect`` on the log-odds.
    gap = scores[0] - scores[target]
    return 1 / (1 + np.exp(-(0.5 - 1.2 * gap + effect * is_gold)))


@pytest.mark.parametrize("effect", [0.0, 1.5])
def test_the_equal_margin_model_recovers_a_known_is_gold_effect_per_search(effect):
    rng = np.random.default_rng(3)
    records = []
    for index, (scores, gold, placebo) in enumerate(synthetic_questions(600, effect, rng)):
        reached = {t: rng.random() < reach_chance(scores, t, t == gold, effect) for t in (gold, placebo)}
        ranks = {c: c for c in range(4)}  # sorted scores: choice c has rank c
        entry = record(
            f"q{index}",
            search="descent",
            gold_first=1 if reached[gold] else None,
            placebo_first=1 if reached[placebo] else None,
            spent=25,
            gold_rank=ranks[gold],
            placebo_rank=ranks[placebo],
        )
        records.append(entry | {"full_scores": scores, "gold": gold, "placebo": placebo})
    test = equal_margin_test(search_units(records, 25), resamples=200)
    low, high = test["coefficient_ci"]
    assert low < effect < high
    assert (low > 0) == (effect > 0)  # found where it exists, not where it does not


def test_the_equal_margin_model_recovers_a_known_effect_per_chain():
    rng = np.random.default_rng(4)
    effect, records = 1.0, []
    for index, (scores, gold, _) in enumerate(synthetic_questions(300, effect, rng)):
        predictions = [0]
        for _ in range(10):  # each chain lands on one choice: the top, or a target by its chance
            weights = np.array(
                [1.0] + [np.exp(np.log(reach_chance(scores, t, t == gold, effect))) for t in (1, 2, 3)]
            )
            predictions.append(int(rng.choice(4, p=weights / weights.sum())))
        records.append({"id": f"q{index}", "full_scores": scores, "gold": gold, "predictions": predictions})
    test = equal_margin_test(chain_units(records, 10), resamples=200)
    assert test["n_units"] == 300 * 10 * 3
    assert test["coefficient_ci"][0] > 0 and test["effect"] > 0


def test_the_logistic_fit_is_scikit_learns_estimate():
    from sklearn.linear_model import LogisticRegression

    from benchmarks.experiments.equal_margin import RIDGE, logistic_fit

    rng = np.random.default_rng(5)
    x = np.column_stack([rng.integers(0, 2, 400), rng.integers(0, 2, 400), rng.normal(2, 1.5, 400)])
    y = (rng.random(400) < 1 / (1 + np.exp(-(0.3 + 0.8 * x[:, 0] - 0.5 * x[:, 1] - 0.7 * x[:, 2])))).astype(
        float
    )
    weight = rng.integers(1, 4, 400).astype(float)
    ours = logistic_fit(x, y, weight)
    reference = LogisticRegression(C=1 / RIDGE, tol=1e-10, max_iter=10_000).fit(x, y, sample_weight=weight)
    assert ours == pytest.approx(np.r_[reference.intercept_, reference.coef_[0]], abs=1e-4)
    # A separated sample (the outcome follows one column exactly) stays finite under the ridge.
    separated = logistic_fit(x[:, :1], x[:, 0], np.ones(400))
    assert np.isfinite(separated).all() and separated[1] > 5
