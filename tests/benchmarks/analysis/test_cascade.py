from __future__ import annotations

import json
import math

import pytest

from benchmarks.analysis.cascade import agreement_by_full_margin, cascade_rows, choice_margin
from benchmarks.reports.cascade_table import cascade_markdown, full_margin_markdown
from tests.benchmarks.runs.test_search_run import script


def record(question: str, scores: list[float], *, gold: int, length: int) -> dict:
    prediction = max(range(len(scores)), key=scores.__getitem__)
    return {
        "id": question,
        "scores": scores,
        "prediction": prediction,
        "correct": prediction == gold,
        "chain_length": length,
    }


def test_margin_is_top_minus_runner_up_probability():
    assert choice_margin([math.log(0.7), math.log(0.2), math.log(0.1)]) == pytest.approx(0.5)
    assert choice_margin([0.0, 0.0]) == pytest.approx(0.0)
    assert choice_margin([-3.0]) == 1.0


# Draft margins: q1 0.8 (agrees), q2 0.6 (departs), q3 ~0 (departs), q4 0.4 (agrees).
DRAFT = [
    record("q1", [math.log(0.9), math.log(0.1)], gold=0, length=20),
    record("q2", [math.log(0.2), math.log(0.8)], gold=0, length=20),
    record("q3", [0.0, 0.0 + 1e-9], gold=0, length=20),
    record("q4", [math.log(0.7), math.log(0.3)], gold=1, length=24),
]
FULL = [
    record("q1", [0.0, -1.0], gold=0, length=30),
    record("q2", [0.0, -1.0], gold=0, length=30),
    record("q3", [0.0, -1.0], gold=0, length=30),
    record("q4", [0.0, -1.0], gold=1, length=30),
    record("q5", [0.0, -1.0], gold=1, length=30),  # the draft never answered it: left out
]


def test_rows_take_the_draft_where_confident_and_pay_both_chains_elsewhere():
    level0, level_half, level_all = cascade_rows(DRAFT, FULL, [0.0, 0.5, 1.0])
    assert level0["n"] == 4 and level0["kept"] == 1.0
    assert level0["agreement"][0] == 0.5 and level0["agrees_where_kept"][0] == 0.5
    assert level0["mean_layers"] == pytest.approx(21.0)
    # At 0.5, q1 and q2 keep the draft; q3 and q4 fall back to the full chain.
    assert level_half["kept"] == 0.5
    assert level_half["agrees_where_kept"][0] == 0.5
    assert level_half["agreement"][0] == 0.75
    assert level_half["accuracy"][0] == 0.5  # q1 right, q2 wrong, q3 right, q4 wrong (full)
    assert level_half["mean_layers"] == pytest.approx((20 + 20 + 50 + 54) / 4)
    # At 1.0 nothing is kept: the full chain's answers at both chains' cost.
    assert level_all["kept"] == 0.0 and level_all["agreement"][0] == 1.0
    assert level_all["agrees_where_kept"] == (None, None)
    table = cascade_markdown([level0, level_half, level_all])
    assert "| 0.5 | 4 | 0.500 | 0.500" in table
    assert "| 1 | 4 | 0.000 | – |" in table


def test_agreement_is_split_by_the_full_chains_own_margin():
    # Full margins: q1-q4 about 0.46 (scores 0, -1); q5 is not in the draft.
    full = [*FULL[:3], record("q4", [0.0, -5.0], gold=1, length=30)]  # q4: margin 0.987
    low, middle, high = agreement_by_full_margin(DRAFT, full, edges=(0.0, 0.3, 0.6))
    assert (low["n"], middle["n"], high["n"]) == (0, 3, 1)
    assert low["agreement"] == (None, None)
    assert middle["agreement"][0] == pytest.approx(1 / 3)  # q1 agrees, q2 and q3 depart
    assert high["agreement"][0] == 1.0 and high["high"] == 1.0
    table = full_margin_markdown([low, middle, high])
    assert "| 0–0.3 | 0 | – |" in table and "| 0.6–1 | 1 | 1.000" in table


def test_bad_levels_and_records_without_scores_are_refused():
    with pytest.raises(ValueError, match="margin levels"):
        cascade_rows(DRAFT, FULL, [1.5])
    bare = [{key: value for key, value in r.items() if key != "scores"} for r in DRAFT]
    with pytest.raises(ValueError, match="'q1' lacks \\['scores'\\]"):
        cascade_rows(bare, FULL, [0.5])
    with pytest.raises(ValueError, match="share no question"):
        cascade_rows(DRAFT, [record("q9", [0.0, 1.0], gold=0, length=30)], [0.5])


def test_script_names_a_missing_run(tmp_path):
    done = script("tables.py", "cascade", str(tmp_path / "nope"), str(tmp_path / "full"))
    assert done.returncode != 0 and "no search records at" in done.stderr and "nope" in done.stderr


def test_script_prints_the_table_and_writes_it_where_asked(tmp_path):
    for name, records in (("draft", DRAFT), ("full", FULL)):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "tables" / "cascade.md"
    done = script(
        "tables.py",
        "cascade",
        str(tmp_path / "draft.jsonl"),
        str(tmp_path / "full.jsonl"),
        "--levels",
        "0",
        "0.5",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert out.read_text() == done.stdout
    assert "| 0.5 | 4 | 0.500 |" in done.stdout and "| 0.6–1 | 0 | – |" in done.stdout
