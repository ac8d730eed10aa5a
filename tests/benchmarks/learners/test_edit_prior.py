"""Learning the edit prior from a scan's records: gold picks count for an edit, placebo picks against."""

from __future__ import annotations

import json

import pytest

from benchmarks.learners.edit_prior import learn_edit_prior


def record(correct: list[str], placebo: list[str]) -> dict:
    return {
        "n_layers": 4,
        "original_correct": False,
        "correct_chains": correct,
        "placebo": 1,
        "placebo_correct_chains": placebo,
        "placebo_best_chain": placebo[0] if placebo else None,
    }


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


def test_ranks_skip_an_edit_that_only_repeats_what_a_better_one_did_and_keep_rates_count_correct_questions():
    records = [
        record(["0,2-3", "0-1,3"], []),  # skip 1 and skip 2 both send this question to gold
        record(["0,2-3", "0-1,3"], []),  # and this one
        record(["0-2"], []),  # skip 3 alone sends this one
        {"n_layers": 4, "correct_chains": ["0-2", "0,2-3"], "original_correct": True},
        {"n_layers": 4, "correct_chains": ["0-2"], "original_correct": True},
    ]
    prior = learn_edit_prior(records, source="scan")
    edits = {(e["kind"], e["layer"], e["size"]): e for e in prior["edits"]}
    assert edits[("skip", 1, 1)]["score"] == edits[("skip", 2, 1)]["score"] == pytest.approx(2 / 3)
    # After skip 1, skip 2 reaches no new question and skip 3 reaches one: skip 3 goes second.
    assert [edits[("skip", layer, 1)]["rank"] for layer in (1, 3, 2)] == [0, 1, 2]
    assert [e["rank"] for e in prior["edits"]] == list(range(len(prior["edits"])))
    assert prior["n_correct_questions"] == 2
    assert edits[("skip", 3, 1)]["keep"] == 1.0 and edits[("skip", 1, 1)]["keep"] == 0.5
    assert edits[("repeat", 0, 1)]["keep"] == 0.0


def test_a_scan_is_read_only_from_a_validation_run(tmp_path):
    from benchmarks.learners.edit_prior import read_scan

    with pytest.raises(SystemExit, match="error: no results.jsonl in"):
        read_scan(tmp_path, "learn the prior")
    scanned = {"id": "q1", **record(["0,2-3"], [])}
    (tmp_path / "results.jsonl").write_text(json.dumps(scanned) + "\n")
    (tmp_path / "run_settings.json").write_text(json.dumps({"task": {"split": "test"}}))
    with pytest.raises(SystemExit, match="error: compare orders on a validation .* never on test"):
        read_scan(tmp_path, "compare orders")
    (tmp_path / "run_settings.json").write_text(json.dumps({"task": {"split": "validation"}}))
    assert read_scan(tmp_path, "learn the prior") == [scanned]


def test_a_prior_says_its_split_and_one_learned_on_test_is_refused_when_loaded(tmp_path):
    from search.prior import load_edit_prior

    records = [record(["0,2-3"], ["0-2"])]
    for split in ("validation", "test"):
        path = tmp_path / f"{split}.json"
        path.write_text(json.dumps(learn_edit_prior(records, source="scan", split=split)))
        assert json.loads(path.read_text())["split"] == split
    assert load_edit_prior(str(tmp_path / "validation.json"), 4)[("skip", 1, 1)] == 0.0  # rank 0 first
    with pytest.raises(ValueError, match="test.json was learned on a test split"):
        load_edit_prior(str(tmp_path / "test.json"), 4)


def test_a_committed_records_file_is_read_with_the_settings_beside_it(tmp_path):
    import gzip
    import json

    from benchmarks.learners.edit_prior import read_scan

    records = tmp_path / "scan.jsonl.gz"
    with gzip.open(records, "wt") as handle:
        handle.write(json.dumps({"id": "q1", "correct_chains": []}) + "\n")
    (tmp_path / "scan.run_settings.json").write_text(json.dumps({"task": {"split": "validation"}}))
    assert read_scan(records, "learn the prior") == [{"id": "q1", "correct_chains": []}]
    (tmp_path / "scan.run_settings.json").write_text(json.dumps({"task": {"split": "test"}}))
    with pytest.raises(SystemExit, match="never on test"):
        read_scan(records, "learn the prior")
