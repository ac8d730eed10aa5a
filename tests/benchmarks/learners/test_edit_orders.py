"""Comparing edit orders on a scan: held-out genuine correction counted from the records alone."""

from __future__ import annotations

import pytest

from benchmarks.learners.edit_orders import compare_orders, genuine_within


def record(gold: list[str], placebo: list[str]) -> dict:
    return {
        "n_layers": 4,
        "original_correct": False,
        "correct_chains": gold,
        "placebo": 1,
        "placebo_correct_chains": placebo,
        "placebo_best_chain": placebo[0] if placebo else None,
    }


def test_genuine_within_counts_the_first_edits_of_the_order_only():
    skip1, skip3, repeat0 = (0, 2, 3), (0, 1, 2), (0, 0, 1, 2, 3)
    records = [record(["0,2-3"], []), record([], ["0-2"]), record(["0,0-3"], ["0,2-3"])]
    assert genuine_within([skip1], records, 1) == pytest.approx((1 + 0 - 1) / 3)
    assert genuine_within([skip1, skip3], records, 2) == pytest.approx((1 - 1 - 1) / 3)
    assert genuine_within([repeat0, skip3], records, 1) == pytest.approx(1 / 3)


def test_compare_orders_gives_every_order_at_every_budget():
    records = [record(["0,2-3"], ["0-2"]) for _ in range(6)] + [
        {"n_layers": 4, "original_correct": True, "correct_chains": ["0,2-3"]} for _ in range(3)
    ]
    table = compare_orders(records, budgets=(1, 3), splits=2, seed=0)
    assert set(table) == {"keep", "rank", "score", "random"}
    # Skipping layer 1 sends every question to gold and kept every correct answer; skipping layer 3
    # sends every question to the placebo: each learned order tries the first edit first.
    assert table["keep"][1] == table["rank"][1] == table["score"][1] == 1.0
    assert all(set(by_budget) == {1, 3} for by_budget in table.values())
