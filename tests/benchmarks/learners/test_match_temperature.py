"""scripts/studies/match_temperature.py: the chosen temperature gives random chains' change share, and
runs it cannot match on are refused with one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from search.guesses import change_share

ROOT = Path(__file__).resolve().parents[3]


def records(split: str = "validation") -> list[dict]:
    base = {
        "model": "tiny",
        "benchmark": "arc_easy",
        "split": split,
        "search": "random",
        "stopped_early": False,
    }
    return [
        base
        | {
            "id": "a",
            "full_scores": [-1.0, -2.0, -4.0],
            "original_prediction": 0,
            "predictions": [0, 0, 1, 0, 2],
        },
        base
        | {
            "id": "b",
            "full_scores": [-3.0, -0.5, -0.7],
            "original_prediction": 1,
            "predictions": [1, 1, 1, 2, 1],
        },
    ]


def match(tmp_path: Path, rows: list[dict]) -> subprocess.CompletedProcess:
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    (run_dir / "results.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/studies/match_temperature.py"),
            str(run_dir),
            "--out",
            str(tmp_path / "t.json"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_the_matched_temperature_changes_answers_as_often_as_random_chains(tmp_path):
    done = match(tmp_path, records())
    assert done.returncode == 0, done.stderr
    chosen = json.loads((tmp_path / "t.json").read_text())
    assert chosen["random_change_share"] == pytest.approx((2 / 4 + 1 / 4) / 2)
    shares = [change_share(r["full_scores"], chosen["temperature"]) for r in records()]
    assert np.mean(shares) == pytest.approx(chosen["random_change_share"], abs=1e-6)
    assert chosen["split"] == "validation" and chosen["model"] == "tiny"
    assert "random chains change the full chain's answer on 0.375" in done.stdout


def test_a_test_split_or_an_early_stopped_run_is_refused(tmp_path):
    refused = match(tmp_path, records("test"))
    assert refused.returncode != 0 and "a test split" in refused.stderr
    stopped = [r | {"stopped_early": True} for r in records()]
    assert "search.stop.enabled=false" in match(tmp_path, stopped).stderr
