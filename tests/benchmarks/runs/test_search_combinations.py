"""Every ``search.reward`` x ``search.control`` runs end to end through ``scripts/run_search.py``: a
finished run with its summary and report, or a one-line refusal before the model loads."""

from __future__ import annotations

import json

import pytest

from search.config import CONTROLS, REWARDS
from tests.benchmarks.runs.test_search_run import ARC_PATH, one_line_error, script

# What search/config.py refuses: the reach control belongs to the faithful reward, and the faithful
# reward takes no placebo (it reads no answer key to draw one from).
REFUSED = {("binary", "reach"), ("margin", "reach"), ("faithful", "placebo"), ("faithful", "placebo_all")}
COMBINATIONS = [(reward, control) for reward in REWARDS for control in CONTROLS]


def settings(reward: str, control: str | None) -> list[str]:
    return [
        f"benchmark.path={ARC_PATH}",
        f"search.reward={reward}",
        f"search.control={'null' if control is None else control}",
        "search.stop.enabled=false",  # placebo_all and faithful need it; every run reads the same
        "search.simulations=4",
        "limit=2",
        "progress=false",
        "threads=1",
    ]


@pytest.mark.parametrize(("reward", "control"), COMBINATIONS)
def test_every_reward_and_control_runs_or_is_refused_before_the_model_loads(
    reward, control, tmp_path, tiny_checkpoint
):
    if (reward, control) in REFUSED:
        # a model path that does not exist: an error naming it would mean the model was reached first
        done = script(
            "run_search.py",
            "model.spec=/no/such/model",
            *settings(reward, control),
            f"hydra.run.dir={tmp_path}",
        )
        line = one_line_error(done.stderr)
        assert done.returncode == 2 and line.startswith("error: ") and "control=reach" in line, done.stderr
        assert not (tmp_path / "results.jsonl").exists()
        return
    done = script(
        "run_search.py",
        f"model.spec={tiny_checkpoint}",
        *settings(reward, control),
        f"hydra.run.dir={tmp_path}",
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["n"] == 2 and (tmp_path / "report.md").is_file()
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert len(records) == 2
    if reward == "faithful":
        assert ("reach" in summary and summary["reach"] is not None) == (control == "reach")
    elif control is not None:
        # a twin was searched wherever a placebo could be drawn (placebo: wrong questions only)
        assert any("placebo_best_chain" in record for record in records) or all(
            record["original_correct"] for record in records
        )
