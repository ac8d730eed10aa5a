from __future__ import annotations

import numpy as np
import pytest

from search.pruning import closest_block, lowest_influence, pruned_chain, random_removal, reverse_order


def test_each_rule_removes_what_it_says():
    assert lowest_influence([0.5, 0.1, 0.3, 0.1, 0.9], 2) == [1, 3]
    assert lowest_influence([0.5, 0.1, 0.3, 0.1, 0.9], 1) == [3]  # ties: the deeper layer goes first
    assert closest_block([0.4, 0.2, 0.3], 3) == [1, 2, 3]
    assert reverse_order(6, 2) == [4, 5]
    assert reverse_order(6, 2, keep_final=True) == [3, 4]
    assert pruned_chain([3, 4], 6) == (0, 1, 2, 5)


def test_random_removals_have_their_rules_form():
    rng = np.random.default_rng(0)
    for _ in range(50):
        block = random_removal(10, 3, "block", rng)
        assert block == list(range(block[0], block[0] + 3))
        assert 9 not in random_removal(10, 9, "any_but_final", rng)
        assert len(set(random_removal(10, 4, "any", rng))) == 4
    with pytest.raises(ValueError, match="unknown removal form 'odd'"):
        random_removal(10, 2, "odd", rng)
    with pytest.raises(ValueError, match="remove 1..9 layers of a 10-layer model, not 10"):
        random_removal(10, 10, "any", rng)
