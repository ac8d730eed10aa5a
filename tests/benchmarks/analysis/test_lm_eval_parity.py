import json

import pytest

from benchmarks.analysis.lm_eval_parity import Scored, agreement, read_scored


def write_samples(path, rows):
    # lm-eval writes filtered_resps as a Python literal string when it holds non-JSON values.
    with path.open("w") as handle:
        for doc_id, scores in rows:
            resps = [[str(score), "False"] for score in scores]
            handle.write(json.dumps({"doc_id": str(doc_id), "filtered_resps": str(resps)}) + "\n")


def test_samples_files_and_evaluate_runs_read_in_row_order(tmp_path):
    samples = tmp_path / "samples.jsonl"
    write_samples(samples, [(1, [-3.0, -1.0]), (0, [-1.0, -2.0, -5.0])])  # lm-eval may write out of order
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.jsonl").write_text(
        json.dumps({"scores": [-1.0004, -2.0, -5.0]}) + "\n" + json.dumps({"scores": [-0.5, -1.0]}) + "\n"
    )
    lm_eval, ours = read_scored(samples), read_scored(run)
    assert [row.prediction for row in lm_eval] == [0, 1]
    result = agreement(lm_eval, ours)
    assert result["rows"] == 2 and result["same_prediction"] == 1
    assert result["max_abs_difference"] == pytest.approx(2.5)
    assert agreement(lm_eval, ours, rows=1) == {
        "rows": 1,
        "same_prediction": 1,
        "max_abs_difference": pytest.approx(4e-4),
    }


def test_mismatched_runs_are_refused(tmp_path):
    three, two = [Scored((-1.0, -2.0, -3.0))], [Scored((-1.0, -2.0))]
    with pytest.raises(ValueError, match="row 0: 3 vs 2 choices"):
        agreement(three, two)
    with pytest.raises(ValueError, match="asked for 5 rows"):
        agreement(three, three, rows=5)
    with pytest.raises(FileNotFoundError, match="no lm-eval samples file"):
        read_scored(tmp_path / "missing.jsonl")
    with pytest.raises(FileNotFoundError, match="not an evaluate.py run directory"):
        read_scored(tmp_path)
