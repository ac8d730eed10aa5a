"""The descent search pinned on tiny evaluators: correction first, then removals in keep order,
random edits when stuck, the budget and the early stop."""

from __future__ import annotations

import json

import numpy as np
import pytest

from search import EditConfig, SearchConfig, StopRule, search_function

NO_STOP = StopRule(enabled=False)
descent = search_function("descent")


def needs(*layers):
    """Correct exactly when the chain still runs every one of ``layers``."""
    return lambda chain: float(all(layer in chain for layer in layers))


def write_prior(tmp_path, n_layers: int, keep: dict[int, float], other: dict[tuple, float] | None = None):
    """Skip-1 keep rates by layer (0.5 where not given), plus ``other`` edits' keep rates."""
    edits = [
        {"kind": "skip", "layer": layer, "size": 1, "score": 0.0, "keep": keep.get(layer, 0.5)}
        for layer in range(n_layers)
    ]
    for (kind, layer, size), value in (other or {}).items():
        edits.append({"kind": kind, "layer": layer, "size": size, "score": 0.0, "keep": value})
    path = tmp_path / "prior.json"
    path.write_text(json.dumps({"format": "cola-edit-prior", "n_layers": n_layers, "edits": edits}))
    return str(path)


def test_descent_removes_every_layer_the_answer_does_not_need():
    config = SearchConfig(name="descent", simulations=200, stop=NO_STOP)
    result = descent(needs(2, 5), 8, config, np.random.default_rng(0))
    assert result.best_chain == (2, 5)  # the shortest correct chain there is
    assert len(result.rewards) <= 201 and len(set(result.rewards)) == len(result.rewards)


def test_without_a_prior_the_largest_removals_come_first_in_random_order():
    config = SearchConfig(name="descent", simulations=15, stop=NO_STOP)
    result = descent(needs(*range(8)), 8, config, np.random.default_rng(0))
    removed = [8 - len(chain) for chain in list(result.rewards)[1:]]
    assert removed == [2] * 7 + [1] * 8  # only the full chain is correct: every removal, larger first
    others = descent(needs(*range(8)), 8, config, np.random.default_rng(1))
    assert list(others.rewards) != list(result.rewards)  # the order within a size is drawn


def test_removals_follow_the_keep_rates_and_a_sure_layer_pair_goes_first(tmp_path):
    # Layers 6 and 7 are the safest to lose, so the first removal tried skips both.
    path = write_prior(tmp_path, 8, keep={6: 0.99, 7: 0.98, 5: 0.9})
    config = SearchConfig(name="descent", simulations=5, prior="learned", prior_file=path, stop=NO_STOP)
    result = descent(needs(0), 8, config, np.random.default_rng(0))
    evaluated = list(result.rewards)
    assert evaluated[1] == (0, 1, 2, 3, 4, 5)  # skip 2 at layers 6-7: expected saving 2 * 0.99 * 0.98
    assert evaluated[2] == (0, 1, 2, 3, 4)  # then layer 5 of what is left


def test_a_wrong_full_chain_is_corrected_least_disruptive_edit_first_then_shortened(tmp_path):
    path = write_prior(tmp_path, 6, keep={}, other={("repeat", 3, 1): 0.9})
    config = SearchConfig(name="descent", simulations=30, prior="learned", prior_file=path, stop=NO_STOP)
    repeated = lambda chain: float(chain.count(3) == 2)  # noqa: E731 - correct only with layer 3 twice
    result = descent(repeated, 6, config, np.random.default_rng(0))
    assert list(result.rewards)[1] == (
        0,
        1,
        2,
        3,
        3,
        4,
        5,
    )  # the single edit that kept the most answers first
    assert result.best_chain == (3, 3)


def test_when_no_removal_is_correct_random_edits_find_a_shorter_chain():
    # Correct only at an even length: every single removal of the 6-layer chain is wrong.
    config = SearchConfig(name="descent", simulations=100, stop=NO_STOP)
    result = descent(lambda chain: float(len(chain) % 2 == 0), 6, config, np.random.default_rng(0))
    assert len(result.best_chain) <= 4
    assert all(len(chain) % 2 == 1 for chain in list(result.rewards)[1:12] if len(chain) == 5)


def test_the_budget_and_the_early_stop_hold():
    config = SearchConfig(name="descent", simulations=7, stop=NO_STOP)
    assert len(descent(lambda chain: 0.0, 8, config, np.random.default_rng(0)).rewards) == 8
    # At the shortest chain there is, nothing shorter is left to draw: the search ends.
    assert descent(needs(1), 8, config, np.random.default_rng(0)).best_chain == (1,)
    stopping = SearchConfig(name="descent", simulations=50)
    result = descent(needs(1), 8, stopping, np.random.default_rng(0))
    assert result.stopped_early and len(result.rewards) <= 3  # at the first correct chain 2 shorter


def test_descent_refuses_the_in_search_prior_and_a_prior_without_keep_rates(tmp_path):
    with pytest.raises(ValueError, match="search descent takes prior=learned or no prior"):
        SearchConfig(name="descent", prior="edits")
    path = tmp_path / "old.json"
    edit = {"kind": "skip", "layer": 0, "size": 1, "score": 0.1}
    path.write_text(json.dumps({"format": "cola-edit-prior", "n_layers": 4, "edits": [edit]}))
    config = SearchConfig(name="descent", prior="learned", prior_file=str(path))
    with pytest.raises(ValueError, match="old.json has no keep rates; learn it again"):
        descent(needs(0), 4, config, np.random.default_rng(0))


def test_descent_down_to_one_layer_with_repeats_off_spends_its_budget_without_error():
    # Every chain holding layer 3 is correct, so removals reach (3,): a chain with no legal edit
    # once repeats are off. Random edits of it must give up, not draw from an empty list.
    edits = EditConfig(skip_sizes=(1, 2), repeat=False)
    config = SearchConfig(name="descent", simulations=60, stop=NO_STOP, edits=edits)
    result = descent(needs(3), 6, config, np.random.default_rng(0))
    assert result.best_chain == (3,)
