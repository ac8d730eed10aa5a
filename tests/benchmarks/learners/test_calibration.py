"""The choice calibration: its features, its fit against an independent solver, and a known rule
recovered on synthetic questions; its policy file round-trips."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from benchmarks.learners.calibration import (
    accuracy,
    choice_data,
    fit_calibration,
    fit_on_validation,
    predictions,
)
from benchmarks.runs.evaluate import RunInfo, evaluate
from benchmarks.tasks import TaskConfig
from cola import ChainModel
from cola.choice_calibration import CHOICE_FEATURES, ChoiceCalibration, choice_features
from cola.policy import load_policy, save_policy
from tests.benchmarks.runs.test_search_run import ARC_PATH, script
from tests.conftest import build_tiny_model


def test_choice_features_by_hand():
    features = choice_features([-4.0, -2.0, -6.0], [4, 2, 3], [2, 1, 3])
    named = dict(zip(CHOICE_FEATURES, features.T, strict=True))
    assert named["score_per_char"].tolist() == [-1.0, -1.0, -2.0]
    assert named["score_per_token"].tolist() == [-2.0, -2.0, -2.0]
    assert named["is_top"].tolist() == [0, 1, 0] and named["is_runner_up"].tolist() == [1, 0, 0]
    assert named["position_2"].tolist() == [0, 0, 1] and named["log_chars"][1] == pytest.approx(np.log(2))


def synthetic_records(count: int, seed: int, choices: int = 4) -> list[dict]:
    """Questions whose gold is the best score per character, while the raw score prefers short choices."""
    rng = np.random.default_rng(seed)
    records = []
    for index in range(count):
        chars = rng.integers(3, 40, choices)
        per_char = rng.normal(-1.0, 0.3, choices)
        records.append(
            {
                "id": f"q{index}",
                "scores": (per_char * chars).tolist(),
                "choice_chars": chars.tolist(),
                "continuation_ids": [[0] * max(1, int(c) // 4) for c in chars],
                "gold": int(np.argmax(per_char)),
            }
        )
    return records


def test_the_fit_learns_a_rule_the_raw_scores_miss():
    train, held_out = choice_data(synthetic_records(400, 0)), choice_data(synthetic_records(300, 1))
    raw = float((held_out.features[..., 0].argmax(axis=1) == held_out.gold).mean())
    calibration, ridge, by_ridge = fit_on_validation(train, choice_data(synthetic_records(200, 2)))
    assert accuracy(calibration, held_out) > 0.95 > raw + 0.3
    assert set(by_ridge) >= {ridge} and by_ridge[ridge] == max(by_ridge.values())


def test_with_two_choices_the_fit_is_logistic_regression_on_differences():
    data = choice_data(synthetic_records(300, 3, choices=2))
    ridge = 0.01
    calibration = fit_calibration(data, ridge)
    standardized = (data.features - calibration.mean) / calibration.scale
    differences = standardized[:, 0, :] - standardized[:, 1, :]
    reference = LogisticRegression(
        C=1 / (ridge * len(data.gold)), fit_intercept=False, tol=1e-10, max_iter=10_000
    )
    reference.fit(differences, (data.gold == 0).astype(int))
    assert np.allclose(calibration.weights, reference.coef_[0], atol=2e-3)


def test_the_policy_file_round_trips_and_predicts_as_fitted(tmp_path):
    data = choice_data(synthetic_records(100, 4))
    calibration = fit_calibration(data, 0.1)
    chain_model = ChainModel(build_tiny_model("llama"))
    save_policy(
        calibration, tmp_path / "c.safetensors", fingerprint="sha256:x", n_layers=4, trained_toward="gold"
    )
    loaded = load_policy(tmp_path / "c.safetensors", chain_model, fingerprint="sha256:x")
    assert isinstance(loaded, ChoiceCalibration) and loaded.choose(chain_model, None) == (0, 1, 2, 3)
    record = synthetic_records(100, 4)[7]
    lengths = [len(ids) for ids in record["continuation_ids"]]
    assert (
        loaded.predict(record["scores"], record["choice_chars"], lengths) == predictions(calibration, data)[7]
    )


def test_records_without_choice_lengths_are_refused():
    with pytest.raises(ValueError, match="lacks choice_chars"):
        choice_data([{"id": "q", "scores": [0.0, 1.0], "continuation_ids": [[1], [2]], "gold": 0}])


def test_calibrate_script_fits_on_full_chain_runs_and_evaluate_applies_it(tmp_path, tokenizer):
    chain_model = ChainModel(build_tiny_model("llama"))
    runs = {}
    for split in ("train", "validation"):
        task = TaskConfig("arc_easy", split=split, path=ARC_PATH)
        info = RunInfo("tiny", (0, 1, 2, 3), model_fingerprint="sha256:tiny")
        evaluate(chain_model, tokenizer, task, info, tmp_path / split)
        runs[split] = tmp_path / split
    out = tmp_path / "policy" / "calibration.safetensors"
    done = script("calibrate.py", str(runs["train"]), str(runs["validation"]), "--out", str(out))
    assert done.returncode == 0, done.stderr
    summary = json.loads(out.with_suffix(".json").read_text())
    assert (
        summary["train"]["n"] == 5 and str(summary["ridge"]) in summary["validation"]["calibrated_by_ridge"]
    )

    policy = load_policy(out, chain_model, fingerprint="sha256:tiny")
    task = TaskConfig("arc_easy", split="validation", path=ARC_PATH)
    evaluate(chain_model, tokenizer, task, RunInfo("tiny", None, policy=policy), tmp_path / "calibrated")
    calibrated = [
        json.loads(line) for line in (tmp_path / "calibrated" / "results.jsonl").read_text().splitlines()
    ]
    full = [json.loads(line) for line in (runs["validation"] / "results.jsonl").read_text().splitlines()]
    expected = predictions(policy, choice_data(full))
    assert [r["prediction"] for r in calibrated] == expected.tolist()
    assert [r["prediction_uncalibrated"] for r in calibrated] == [r["prediction"] for r in full]
    assert all(r["correct"] == (r["prediction"] == r["gold"]) for r in calibrated)

    wrong_split = script("calibrate.py", str(runs["validation"]), str(runs["validation"]), "--out", str(out))
    assert wrong_split.returncode != 0 and "split 'validation', not 'train'" in wrong_split.stderr

    # Applied to the full chain's records, it answers as evaluate.py policy= does, without a forward.
    applied = script(
        "studies/apply_calibration.py", str(out), str(runs["validation"]), "--out", str(tmp_path / "applied")
    )
    assert applied.returncode == 0, applied.stderr
    offline = [json.loads(line) for line in (tmp_path / "applied" / "results.jsonl").read_text().splitlines()]
    fields = ("id", "prediction", "correct", "prediction_uncalibrated")
    assert [[r[k] for k in fields] for r in offline] == [[r[k] for k in fields] for r in calibrated]
    settings = json.loads((tmp_path / "applied" / "run_settings.json").read_text())
    assert settings["chain"] == "policy:choice_calibration" and len(settings["policy_sha256"]) == 64

    not_full = script(
        "studies/apply_calibration.py", str(out), str(tmp_path / "calibrated"), "--out", str(tmp_path / "x")
    )
    assert not_full.returncode != 0 and "not the full chain" in not_full.stderr
