from __future__ import annotations

import json

import pytest

from benchmarks.learners.dola_choice import best_static, variant_accuracy, variant_layers
from tests.benchmarks.runs.test_search_run import script


def record(gold: int, **scores) -> dict:
    return {"gold": gold, "n_layers": 8, "exits": [8], "exit_scores": [[0.0, -1.0]], "dola_scores": scores}


RECORDS = [
    record(
        0, **{"static-2": [0, -1], "static-4": [-1, 0], "static-6": [0, -1], "low": [0, -1], "high": [-1, 0]}
    ),
    record(
        1, **{"static-2": [0, -1], "static-4": [-1, 0], "static-6": [-1, 0], "low": [0, -1], "high": [-1, 0]}
    ),
]


def test_variants_are_scored_and_the_best_static_layer_picked():
    accuracy = variant_accuracy(RECORDS)
    assert accuracy == {"static-2": 0.5, "static-4": 0.5, "static-6": 1.0, "low": 0.5, "high": 0.5}
    assert best_static(accuracy) == "static-6"
    assert best_static({"static-2": 0.5, "static-4": 0.5}) == "static-4"  # ties: the deeper layer
    assert variant_layers("low", RECORDS) == (2,) and variant_layers("high", RECORDS) == (4, 6)
    with pytest.raises(ValueError, match="unknown DoLa variant 'middle'"):
        variant_layers("middle", RECORDS)
    with pytest.raises(ValueError, match="exit records made with DoLa's scores"):
        variant_accuracy([{"gold": 0}])


def test_the_script_saves_the_choice_and_refuses_a_test_split(tmp_path):
    from cola.policy import read_policy

    for split in ("validation", "test"):
        run = tmp_path / split
        run.mkdir()
        (run / "run_settings.json").write_text(
            json.dumps({"task": {"split": split, "benchmark": "arc_easy"}, "run": {"model_fingerprint": "f"}})
        )
        (run / "results.jsonl").write_text(
            "".join(json.dumps(r | {"id": str(i)}) + "\n" for i, r in enumerate(RECORDS))
        )
    done = script("choose_dola.py", str(tmp_path / "validation"), "--out", str(tmp_path / "dola.safetensors"))
    assert done.returncode == 0, done.stderr
    assert "DoLa static-6 (layers [6])" in done.stdout and "| full chain | 0.500" in done.stdout
    arrays, meta = read_policy(tmp_path / "dola.safetensors", fingerprint="f", n_layers=8)
    assert meta["kind"] == "dola" and arrays["layers"].tolist() == [6]
    refused = script("choose_dola.py", str(tmp_path / "test"), "--out", str(tmp_path / "x.safetensors"))
    assert refused.returncode == 2 and "test-split run" in refused.stderr
