"""An exit that knows the answer is found by the stacked calibration and missed by the final-layer one."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.learners.exit_calibration import answered_records, exit_choice_data, fit_exit_calibration


def records(n: int, seed: int) -> list[dict]:
    """Four-choice questions whose final layer scores are noise and whose exit 2 favours gold."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        gold = int(rng.integers(4))
        final = rng.normal(-10, 1, 4)
        middle = rng.normal(-10, 1, 4)
        middle[gold] += 2.0
        out.append(
            {
                "id": f"{seed}-{i}",
                "gold": gold,
                "n_layers": 4,
                "exits": [0, 2, 4],
                "exit_scores": [rng.normal(-10, 1, 4).tolist(), middle.tolist(), final.tolist()],
                "choice_chars": [10, 12, 9, 11],
                "choice_tokens": [3, 3, 2, 3],
            }
        )
    return out


def test_a_knowing_exit_is_learned_and_the_final_layer_alone_is_not():
    train, validation, test = records(400, 0), records(200, 1), records(400, 2)
    stacked, _, _ = fit_exit_calibration(train, validation, [0, 2])
    final_only, _, _ = fit_exit_calibration(train, validation, [])
    stacked_accuracy = np.mean([r["correct"] for r in answered_records(stacked, test, [0, 2], "stacked")])
    final_accuracy = np.mean([r["correct"] for r in answered_records(final_only, test, [], "final")])
    assert stacked_accuracy > 0.6 and final_accuracy < 0.35


def test_a_missing_exit_is_refused_by_name():
    with pytest.raises(ValueError, match=r"holds exits \[0, 2, 4\], not 3"):
        exit_choice_data(records(1, 0), [3])
