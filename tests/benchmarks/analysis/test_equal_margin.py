"""The equal-margin test: its fits against independent references, known effects recovered, a
true zero covered by the simulation, pairing by question, p at its resolution, fresh rows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import CubicSpline
from scipy.optimize import minimize

from benchmarks.analysis.equal_margin.calibration import Perturbation, coverage
from benchmarks.analysis.equal_margin.fit import (
    RIDGE,
    Covariates,
    conditional_logit_fit,
    equal_margin_test,
    logistic_fit,
    natural_spline_basis,
    paired_difference,
)
from benchmarks.analysis.equal_margin.units import chain_units, search_units
from benchmarks.analysis.fresh_rows import in_rows, row_positions
from benchmarks.analysis.stats import format_p


def synthetic_questions(n: int, rng: np.random.Generator) -> list[dict]:
    """Questions the full chain gets wrong: scores (choice 0 the answer), gold and a placebo among
    the others, choices of 3 to 12 tokens."""
    questions = []
    for index in range(n):
        scores = sorted(rng.normal(0, 1.5, size=4).tolist(), reverse=True)
        gold = int(rng.integers(1, 4))
        placebo = int(rng.choice([c for c in (1, 2, 3) if c != gold]))
        lengths = rng.integers(3, 13, size=4)
        questions.append(
            {
                "id": f"q{index}",
                "full_scores": scores,
                "gold": gold,
                "placebo": placebo,
                "gold_rank": gold,
                "placebo_rank": placebo,
                "original_correct": False,
                "original_prediction": 0,
                "continuation_ids": [[7] * int(length) for length in lengths],
                "best_chain": None,
                "placebo_best_chain": None,
            }
        )
    return questions


def reach_chance(question: dict, target: int, effect: float) -> float:
    # Near-ties and short answers are reached more; gold more again by ``effect`` on the log-odds.
    gap = question["full_scores"][0] - question["full_scores"][target]
    length = len(question["continuation_ids"][target]) - np.mean(
        [len(c) for c in question["continuation_ids"]]
    )
    return 1 / (1 + np.exp(-(0.5 - 1.2 * gap - 0.2 * length + effect * (target == question["gold"]))))


@pytest.mark.parametrize("effect", [0.0, 1.5])
def test_the_search_model_recovers_a_known_is_gold_effect(effect):
    rng = np.random.default_rng(3)
    records = []
    for question in synthetic_questions(600, rng):
        firsts = {
            t: 1 if rng.random() < reach_chance(question, t, effect) else None
            for t in (question["gold"], question["placebo"])
        }
        records.append(
            question
            | {
                "first_correct_evaluation": firsts[question["gold"]],
                "placebo_first_correct_evaluation": firsts[question["placebo"]],
            }
        )
    test = equal_margin_test(search_units(records, 25), resamples=200)
    low, high = test["coefficient_ci"]
    assert low < effect < high
    assert (low > 0) == (effect > 0)  # found where it exists, not where it does not


def test_the_chain_model_recovers_a_known_effect_and_counts_its_units():
    rng = np.random.default_rng(4)
    records = []
    for question in synthetic_questions(300, rng):
        weights = np.array([1.0] + [reach_chance(question, t, 1.0) for t in (1, 2, 3)])
        predictions = [0, *rng.choice(4, size=10, p=weights / weights.sum()).tolist()]
        records.append(question | {"predictions": predictions})
    landings = chain_units(records, 10)
    assert landings.n_units == 300 * 10 * 3
    test = equal_margin_test(landings, resamples=200)
    assert test["coefficient_ci"][0] > 0 and test["effect"] > 0
    right = records[0] | {"gold": 0}  # answered right: gold is no target, the question is left out
    assert chain_units([right], 10).n_units == 0
    reversed_run = paired_difference(landings, chain_units(records[::-1], 10), resamples=20)
    assert reversed_run["difference"] == 0 and reversed_run["n_questions"] == 300


def test_the_logistic_fit_is_scikit_learns_estimate():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    x = np.column_stack([rng.integers(0, 2, 400), rng.integers(0, 2, 400), rng.normal(2, 1.5, 400)])
    logits = 0.3 + 0.8 * x[:, 0] - 0.5 * x[:, 1] - 0.7 * x[:, 2]
    y = (rng.random(400) < 1 / (1 + np.exp(-logits))).astype(float)
    weight = rng.integers(1, 4, 400).astype(float)
    ours = logistic_fit(x, y, weight)
    reference = LogisticRegression(C=1 / RIDGE, tol=1e-10, max_iter=10_000).fit(x, y, sample_weight=weight)
    assert ours == pytest.approx(np.r_[reference.intercept_, reference.coef_[0]], abs=1e-4)
    # A separated sample (the outcome follows one column exactly) stays finite under the ridge.
    separated = logistic_fit(x[:, :1], x[:, 0], np.ones(400))
    assert np.isfinite(separated).all() and separated[1] > 5


def test_the_conditional_logit_is_the_direct_maximum_of_its_likelihood():
    rng = np.random.default_rng(6)
    sizes = rng.integers(2, 5, size=80)  # 80 questions of 2 to 4 targets
    group = np.repeat(np.arange(80), sizes)
    x = rng.normal(size=(len(group), 3))
    hits = rng.integers(0, 6, size=len(group)).astype(float)

    def negative_log_likelihood(beta):
        total = -0.5 * RIDGE * beta @ beta
        for g in range(80):
            rows = group == g
            u = x[rows] @ beta
            total += hits[rows] @ u - hits[rows].sum() * np.log(np.exp(u).sum())
        return -total

    reference = minimize(negative_log_likelihood, np.zeros(3), method="BFGS", options={"gtol": 1e-9}).x
    assert conditional_logit_fit(x, hits, group) == pytest.approx(reference, abs=1e-4)


def test_the_spline_basis_spans_scipys_natural_cubic_spline():
    knots = np.array([0.0, 0.7, 1.5, 3.0, 8.0])
    values = np.random.default_rng(7).normal(size=5)
    natural = CubicSpline(knots, values, bc_type="natural")
    x = np.linspace(0, 8, 300)
    design = np.column_stack([np.ones_like(x), natural_spline_basis(x, knots)])
    coefficients, *_ = np.linalg.lstsq(design, natural(x), rcond=None)
    assert design @ coefficients == pytest.approx(natural(x), abs=1e-8)
    beyond = natural_spline_basis(np.array([9.0, 10.0, 11.0]), knots)
    assert np.diff(beyond, n=2, axis=0) == pytest.approx(np.zeros((1, 4)), abs=1e-9)  # linear past the knots


def test_the_simulated_null_is_covered_and_a_planted_effect_is_found():
    records = synthetic_questions(150, np.random.default_rng(8))
    null = coverage(
        records, "per chain", Perturbation(1.5, 0.3), budget=25, datasets=40, resamples=100, seed=0
    )
    assert null["true_effect"] == 0.0 and null["coverage"] >= 0.85
    planted = coverage(
        records, "per chain", Perturbation(1.5, 0.3, 1.0), budget=25, datasets=10, resamples=100, seed=0
    )
    assert planted["true_effect"] > 0.02 and planted["rejects_zero"] >= 0.9
    assert planted["mean_estimate"] == pytest.approx(planted["true_effect"], abs=0.01)


def test_a_run_less_itself_is_zero_and_pairs_questions_by_id():
    rng = np.random.default_rng(9)
    records = [
        question
        | {
            "first_correct_evaluation": 1 if rng.random() < 0.5 else None,
            "placebo_first_correct_evaluation": 1 if rng.random() < 0.4 else None,
        }
        for question in synthetic_questions(120, rng)
    ]
    units = search_units(records, 25)
    same = paired_difference(units, search_units(records[::-1], 25), resamples=100)
    assert same["difference"] == 0 and same["difference_ci"] == pytest.approx([0, 0], abs=1e-12)
    assert same["n_questions"] == 120
    half = paired_difference(units, search_units(records[:60], 25), resamples=100)
    assert half["n_questions"] == 60


def test_covariates_are_fixed_on_the_data_they_were_made_from():
    records = [
        q | {"first_correct_evaluation": 1, "placebo_first_correct_evaluation": None}
        for q in synthetic_questions(50, np.random.default_rng(10))
    ]
    units = search_units(records, 25)
    covariates = Covariates.of(units)
    subset = units.take(np.arange(10))
    assert covariates.matrix(subset) == pytest.approx(covariates.matrix(units)[:10])


def test_a_p_value_is_printed_at_the_resolution_its_resamples_allow():
    assert format_p(0.0, 10_000) == "≤ 0.0002"  # a bootstrap tail of 0
    assert format_p(2 / 10_001, 10_000) == "≤ 0.0002"  # scipy's smallest two-sided sign-flip p
    assert format_p(0.0, 1000) == "≤ 0.002"
    assert format_p(0.0004, 10_000) == "0.0004"
    assert format_p(0.044, 10_000) == "0.044"
    assert format_p(3e-7) == "< 0.0001" and format_p(0.0015) == "0.002"
    assert format_p(None) == "–"


def test_fresh_rows_are_selected_by_row_in_the_split_not_by_record_order():
    positions = row_positions("arc_easy", "test")
    ids = sorted(positions, key=positions.get)
    records = [{"id": ids[row], "benchmark": "arc_easy", "split": "test"} for row in (501, 3, 499, 500, 1200)]
    assert [positions[r["id"]] for r in in_rows(records, 500, None)] == [500, 501, 1200]
    assert [positions[r["id"]] for r in in_rows(records, 0, 500)] == [3, 499]
    with pytest.raises(ValueError, match="not a question of arc_easy test"):
        in_rows([{"id": "nope", "benchmark": "arc_easy", "split": "test"}], 0, None)


def test_a_planted_effect_per_search_is_estimated_in_the_tests_own_terms():
    """The plant on gold also draws the twin's chains off the placebo: the truth counts both."""
    rng = np.random.default_rng(11)
    records = [
        question | {"first_correct_evaluation": None, "placebo_first_correct_evaluation": None}
        for question in synthetic_questions(200, rng)
    ]
    planted = coverage(
        records, "per search", Perturbation(1.5, 0.3, 1.0), budget=10, datasets=12, resamples=100, seed=0
    )
    assert planted["true_effect"] > 0.05
    assert planted["mean_estimate"] == pytest.approx(planted["true_effect"], abs=0.03)


def test_the_null_coverage_summary_reads_the_settings_where_nothing_was_planted():
    from benchmarks.analysis.equal_margin.study import null_coverage

    def run(coverage, planted):
        return {"coverage": coverage, "perturbation": {"planted": planted}}

    simulated = {"runs": [run(0.97, 0.0), run(0.92, 0.0), run(0.94, 0.0), run(0.99, 1.0), run(0.80, 1.0)]}
    assert null_coverage(simulated) == {"settings": 3, "min": 0.92, "max": 0.97, "at least 0.93": 2}
