"""Search core on toy evaluators: legal moves, determinism, and finding a known optimum."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from search import SEARCHES, EditConfig, SearchConfig, StopRule, children, legal_edits, search_function
from search.actions import Edit
from search.config import GUESS_SEARCH_NAMES, SEARCH_NAMES


def test_edits_apply_as_documented():
    chain = (0, 1, 2, 3)
    assert Edit("skip", 1, 1).apply(chain) == (0, 2, 3)
    assert Edit("skip", 2, 2).apply(chain) == (0, 1)
    assert Edit("repeat", 2).apply(chain) == (0, 1, 2, 2, 3)


def test_children_are_distinct_and_counted():
    chain = tuple(range(30))
    kids = children(chain, 30, EditConfig())
    # 30 single skips + 29 double skips + 30 repeats, all distinct for the full chain.
    assert len(kids) == 89
    assert chain not in kids
    # A repeated layer: skipping either copy gives one child.
    doubled = (0, 1, 1, 2)
    skips = [c for c, e in children(doubled, 3, EditConfig()).items() if e.kind == "skip" and e.size == 1]
    assert skips.count((0, 1, 2)) == 1


def test_length_limit_stops_repeats():
    config = EditConfig(max_length_factor=2.0)
    at_limit = (0, 1, 2) * 2  # 6 = 2 * 3 layers
    assert not [e for e in legal_edits(at_limit, 3, config) if e.kind == "repeat"]
    assert all(len(c) <= 6 for c in children(at_limit, 3, config))
    below = (0, 1, 2, 2, 1)
    assert all(len(c) <= 6 for c in children(below, 3, config))


def test_no_edit_empties_a_chain():
    assert all(len(c) >= 1 for c in children((4,), 5, EditConfig()))
    assert all(len(c) >= 1 for c in children((4, 2), 5, EditConfig()))


def toy_evaluator(target: tuple[int, ...]):
    """Correct only for chains that contain ``target`` as a subsequence and skip layer 3."""

    def evaluate(chain):
        it = iter(chain)
        return float(all(layer in it for layer in target) and 3 not in chain)

    return evaluate


@pytest.mark.parametrize("name", ["mcts", "random", "greedy"])
def test_same_seed_same_result(name):
    search = search_function(name)
    config = SearchConfig(simulations=60, stop=StopRule(enabled=False))
    runs = [search(toy_evaluator((0, 5)), 8, config, np.random.default_rng(7)) for _ in range(2)]
    assert list(runs[0].rewards.items()) == list(runs[1].rewards.items())
    other = search(toy_evaluator((0, 5)), 8, config, np.random.default_rng(8))
    assert list(other.rewards) != list(runs[0].rewards)


def test_mcts_finds_the_shortest_correct_chain_of_a_toy_problem():
    # Correct iff the chain avoids layer 3: the optimum is one skip of layer 3 (length 5 of 6).
    def evaluate(chain):
        return float(3 not in chain)

    config = SearchConfig(simulations=200, stop=StopRule(enabled=False))
    result = search_function("mcts")(evaluate, 6, config, np.random.default_rng(0))
    assert result.original_reward == 0.0
    assert (0, 1, 2, 4, 5) in result.correct_chains
    best = result.best_chain
    assert 3 not in best and len(best) <= 4  # it keeps going: skips beyond the first are found


def test_mcts_finds_a_correction_that_needs_two_edits():
    # Correct only when layer 2 runs twice in a row and layer 4 is skipped.
    def evaluate(chain):
        text = ",".join(map(str, chain))
        return float("2,2" in text and 4 not in chain)

    config = SearchConfig(simulations=200)
    result = search_function("mcts")(evaluate, 6, config, np.random.default_rng(0))
    assert result.stopped_early
    assert result.best_chain is not None
    assert evaluate(result.best_chain) == 1.0


def test_early_stop_on_a_shorter_correct_chain():
    config = SearchConfig(simulations=200, stop=StopRule(enabled=True, min_saving=2))
    result = search_function("mcts")(lambda chain: 1.0, 10, config, np.random.default_rng(0))
    assert result.stopped_early
    assert len(result.best_chain) == 8
    assert result.iterations < 200


def test_budget_is_respected():
    config = SearchConfig(simulations=25, stop=StopRule(enabled=False))
    for name in ("mcts", "random", "greedy"):
        result = search_function(name)(lambda chain: 0.0, 10, config, np.random.default_rng(0))
        assert len(result.rewards) <= 26, name  # the full chain plus the budget


def test_greedy_climbs_toward_shorter_correct_chains():
    config = SearchConfig(simulations=500, stop=StopRule(enabled=False))
    result = search_function("greedy")(lambda chain: 1.0, 6, config, np.random.default_rng(0))
    assert len(result.best_chain) == 1


def test_memo_evaluates_each_chain_once():
    calls = []

    def evaluate(chain):
        calls.append(chain)
        return 0.0

    config = SearchConfig(simulations=100, stop=StopRule(enabled=False))
    search_function("mcts")(evaluate, 5, config, np.random.default_rng(0))
    assert len(calls) == len(set(calls))


def test_unknown_search_and_bad_config():
    with pytest.raises(
        ValueError,
        match="unknown search 'beam'; choose from mcts, guided, learned, reference, random, greedy, descent",
    ):
        search_function("beam")
    with pytest.raises(ValueError, match="simulations must be >= 1"):
        SearchConfig(simulations=0)
    with pytest.raises(ValueError, match="unknown search 'beam'; choose from mcts, guided"):
        SearchConfig(name="beam")
    with pytest.raises(ValueError, match="control=placebo_all needs search.stop.enabled=false"):
        SearchConfig(control="placebo_all")


def test_config_knows_every_registered_search():
    # SearchConfig validates names from its own list, since the registry imports the searches.
    assert tuple(SEARCHES) + GUESS_SEARCH_NAMES == SEARCH_NAMES


def test_search_core_imports_neither_torch_nor_cola():
    code = "import sys, search; print(any(m in sys.modules for m in ('torch', 'cola', 'transformers')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
