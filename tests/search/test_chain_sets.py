"""Unsteered chain sets: the removal path follows the keep order, random removals match its sizes."""

from __future__ import annotations

import numpy as np
import pytest

from search.chain_sets import keep_order, random_removals, removal_path


def test_the_keep_order_puts_the_safest_layer_first_and_breaks_ties_by_layer():
    keep = {("skip", 2, 1): 0.9, ("skip", 0, 1): 0.9, ("skip", 3, 1): 0.5, ("repeat", 1, 1): 1.0}
    assert keep_order(keep, 5) == [0, 2, 3, 1, 4]  # layers 1 and 4 have no skip rate: 0


def test_the_removal_path_removes_one_more_layer_at_each_step():
    path = removal_path([3, 0, 2, 1], 4)
    assert path == [(0, 1, 2), (1, 2), (1,)]
    with pytest.raises(ValueError, match="each of the 4 layers once"):
        removal_path([3, 0, 2], 4)


def test_random_removals_have_the_paths_lengths_and_depend_only_on_the_generator():
    chains = random_removals(6, np.random.default_rng(0), per_size=2)
    assert [len(chain) for chain in chains] == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert all(list(chain) == sorted(set(chain)) for chain in chains)
    assert chains == random_removals(6, np.random.default_rng(0), per_size=2)
