"""Learning the edit prior from a scan's records: gold picks count for an edit, placebo picks against."""

from __future__ import annotations

import pytest

from benchmarks.experiments.edit_prior import learn_edit_prior


def record(correct: list[str], placebo: list[str]) -> dict:
    return {"n_layers": 4, "correct_chains": correct, "placebo_correct_chains": placebo}


def test_scores_are_gold_minus_placebo_picks_per_question_over_single_edits():
    records = [
        record(["0,2-3", "0-2"], ["0-2"]),  # skip layer 1 sent this question to gold; skip 3 to both
        record(["0,2-3"], ["0-1,1-3"]),  # skip 1 again; repeat 1 sent it to the placebo
        record(["0-1", "0,2"], []),  # 0-1 skips 2 from layer 2; 0,2 takes two edits: ignored
        {"n_layers": 4, "correct_chains": ["0-3"], "original_correct": True},  # no twin: not counted
    ]
    prior = learn_edit_prior(records, source="scan")
    scores = {(e["kind"], e["layer"], e["size"]): e["score"] for e in prior["edits"]}
    assert prior["n_questions"] == 3 and prior["format"] == "cola-edit-prior"
    assert scores[("skip", 1, 1)] == pytest.approx(2 / 3)
    assert scores[("skip", 3, 1)] == 0.0
    assert scores[("repeat", 1, 1)] == pytest.approx(-1 / 3)
    assert scores[("skip", 2, 2)] == pytest.approx(1 / 3)
    assert sum(abs(score) for score in scores.values()) == pytest.approx(4 / 3)  # 0,2 adds nothing
    assert prior["edits"][0]["score"] == max(scores.values())


def test_a_scan_without_the_twin_is_refused():
    with pytest.raises(ValueError, match="run the scan with search.control=placebo"):
        learn_edit_prior([{"n_layers": 4, "correct_chains": []}], source="scan")
