"""Comparisons like with like (common reach, same samples, Holm)."""

from __future__ import annotations

import pytest

from benchmarks.analysis.search_compare import paired_comparisons, secondary_family
from benchmarks.analysis.search_summary import placebo_summary
from benchmarks.analysis.stats import holm


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
