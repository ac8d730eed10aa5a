"""The policy table: paired on common questions, differences and Holm as computed by hand."""

from __future__ import annotations

import pytest

from benchmarks.analysis.policy_gains import policy_rows
from benchmarks.analysis.stats import mcnemar_exact
from benchmarks.reports.policy_table import policy_markdown


def records(flags: list[int], length: int, *, skip: int = 0) -> list[dict]:
    return [
        {
            "id": f"q{index}",
            "correct": bool(flag),
            "prediction": 0 if flag else 1 + index % 3,  # gold is 0; wrong answers differ
            "chain_length": length,
            "seconds": 0.1 * (1 + index % 3),
        }
        for index, flag in enumerate(flags)
        if index >= skip
    ]


def test_rows_pair_on_common_questions_and_adjust_over_the_policies():
    full = [1, 0, 0, 1, 0, 1, 0, 0, 1, 0] * 4
    better = [1, 1, 1, 1, 0, 1, 1, 0, 1, 0] * 4  # +3 per block of ten, never worse
    worse = [0, 0, 0, 1, 0, 1, 0, 0, 1, 0] * 4
    runs = {
        "full chain": records(full, 30),
        "static": records(better, 27, skip=2),
        "calibration": records(worse, 30),
    }
    rows = {row["policy"]: row for row in policy_rows(runs, full="full chain", rival="calibration")}
    assert all(row["n"] == 38 for row in rows.values())
    static = rows["static"]
    assert static["accuracy"] == pytest.approx(sum(better[2:]) / 38)
    assert static["vs_full"].difference == pytest.approx((sum(better[2:]) - sum(full[2:])) / 38)
    assert static["vs_full"].p == mcnemar_exact([bool(x) for x in better[2:]], [bool(x) for x in full[2:]])
    p_values = [static["vs_full"].p, rows["calibration"]["vs_full"].p]
    assert static["vs_full_holm"] == pytest.approx(min(1.0, 2 * min(p_values)))
    assert static["mean_layers"] == 27 and rows["full chain"]["vs_full"] is None
    assert rows["calibration"]["vs_rival"] is None and static["vs_rival"].difference > 0
    # the family against the rival holds "static" alone (not the full chain, not the rival)
    assert static["vs_rival_holm"] == pytest.approx(static["vs_rival"].p)
    assert "vs_rival_holm" not in rows["full chain"] and "vs_rival_holm" not in rows["calibration"]
    # agreement by hand: both right, or both wrong with the same wrong answer (here: always)
    agreeing = [f == b for f, b in zip(full[2:], better[2:], strict=True)]
    assert static["agreement"][0] == pytest.approx(sum(agreeing) / 38)
    assert rows["full chain"]["agreement"][0] == 1.0
    table = policy_markdown(list(rows.values()), full="full chain", rival="calibration")
    assert table.splitlines()[3].startswith("| static | 38 |") and "**+0." in table.splitlines()[3]


def test_runs_without_a_common_question_are_refused():
    with pytest.raises(ValueError, match="share no question"):
        policy_rows({"a": records([1], 3), "b": records([1, 0], 3, skip=1)}, full="a")


def test_a_run_derived_without_timings_shows_no_seconds():
    derived = [record | {"seconds": None} for record in records([1, 0, 1], 8)]
    rows = policy_rows({"full": records([1, 1, 0], 4), "top2": derived}, full="full")
    assert rows[1]["seconds_median_p90"] is None and rows[0]["seconds_median_p90"] is not None
    assert "| 8.00 | – |" in policy_markdown(rows, full="full", rival=None).splitlines()[3]
    unpredicted = [{k: v for k, v in r.items() if k != "prediction"} for r in derived]
    rows = policy_rows({"full": records([1, 1, 0], 4), "old": unpredicted}, full="full")
    assert rows[1]["agreement"] is None and "| 0.667 (" in policy_markdown(rows, full="full", rival=None)


def test_the_sliced_table_repeats_the_comparison_on_rows_500_and_later():
    from benchmarks.analysis.fresh_rows import row_positions
    from benchmarks.reports.policy_table import sliced_markdown

    ids = sorted(row_positions("arc_easy", "test"), key=row_positions("arc_easy", "test").get)[:700]
    full = [
        {
            "id": i,
            "benchmark": "arc_easy",
            "split": "test",
            "correct": n % 2 == 0,
            "prediction": n % 2,
            "chain_length": 30,
            "seconds": 0.1,
        }
        for n, i in enumerate(ids)
    ]
    better = [
        r | {"correct": True, "prediction": 0} if n >= 500 else r for n, r in enumerate(full)
    ]  # gains on rows 500+ only
    text = sliced_markdown({"full chain": full, "policy": better}, full="full chain", rival=None)
    whole, fresh = text.split("**rows 500+**")
    assert "| policy | 700 |" in whole and "| policy | 200 |" in fresh
    assert "+0.143" in whole and "+0.500" in fresh  # 100 gains over 700 rows, over 200 rows


def test_a_pooled_gain_resamples_questions_with_all_their_cells():
    from benchmarks.analysis.stats import pooled_clustered_difference

    # two cells share questions a and b; c is in one cell only
    cells = {
        "x": (["a", "b", "c"], [True, True, False], [False, True, False]),
        "y": (["a", "b"], [True, False], [False, True]),
    }
    pooled = pooled_clustered_difference(cells, resamples=500)
    assert pooled["n_pairs"] == 5 and pooled["n_questions"] == 3
    assert (pooled["up"], pooled["down"]) == (2, 1)
    assert pooled["difference"] == pytest.approx(1 / 5)  # nets a: +2, b: -1, c: 0 over 5 pairs
    low, high = pooled["difference_ci"]
    assert low <= pooled["difference"] <= high and 0 <= pooled["p"] <= 1


def test_a_pooled_gain_keeps_each_stratum_of_questions_at_its_size():
    from benchmarks.analysis.stats import pooled_clustered_difference

    # each question is in one cell: every question of "easy" gains, none of "hard" moves; a
    # resample stratified by cell holds 3 "easy" and 5 "hard" questions every time (3/8 exactly)
    cells = {
        "easy": (["e1", "e2", "e3"], [True] * 3, [False] * 3),
        "hard": ([f"h{n}" for n in range(5)], [True] * 5, [True] * 5),
    }
    pooled = pooled_clustered_difference(cells, resamples=300)
    assert pooled["strata"] == 2
    assert pooled["difference_ci"] == pytest.approx([3 / 8, 3 / 8])
