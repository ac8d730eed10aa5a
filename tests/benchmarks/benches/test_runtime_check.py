"""The pieces of the llama.cpp check that need no llama.cpp: a chain's neighbours and the KL."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.benches.runtime_check import kl, neighbours


def test_a_chains_neighbours_are_one_edit_away():
    assert set(neighbours((0, 1, 2))) == {
        (1, 2), (0, 2), (0, 1),  # a step removed
        (2,), (0,),  # two adjacent steps removed
        (0, 0, 1, 2), (0, 1, 1, 2), (0, 1, 2, 2),  # a step run twice
        (1, 0, 2), (0, 2, 1),  # adjacent steps swapped
    }  # fmt: skip
    assert (5, 5) not in neighbours((5, 5)) and (5,) in neighbours((5, 5))


def test_kl_is_zero_on_itself_positive_elsewhere_and_reads_the_shared_vocabulary():
    logits = np.array([2.0, 0.5, -1.0, 0.0])
    assert kl(logits, logits) == pytest.approx(0.0, abs=1e-12)
    assert kl(logits, logits + np.array([0, 1.0, 0, 0])) > 0
    assert kl(logits, np.append(logits, 50.0)) == pytest.approx(0.0, abs=1e-12)  # a padded vocabulary
