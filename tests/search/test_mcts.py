"""MCTS semantics pinned on tiny evaluators: UCT arithmetic, visits and backup, transpositions,
cycles, progressive widening, the edit prior, and the reference search's single path."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from search import SearchConfig, StopRule, children, search_function
from search.mcts import MCTS, Node
from search.types import CORRECT

NO_STOP = StopRule(enabled=False)


def counting(evaluate):
    calls = []

    def wrapped(chain):
        calls.append(chain)
        return evaluate(chain)

    return wrapped, calls


def graded(chain) -> float:
    """A dense toy reward: shorter chains that keep layer 0 score higher, never correct."""
    return 0.4 * (0 in chain) * (1 - len(chain) / 20)


def test_uct_takes_the_parent_visits_and_the_cola_form_the_simulation_count():
    config = SearchConfig(exploration=1.8, length_penalty=3.0, stop=NO_STOP)
    search = MCTS(lambda chain: 0.0, 6, config, np.random.default_rng(0))
    parent, child = Node(tuple(range(6))), Node((0, 1, 2, 3, 4))
    parent.visits, child.visits, child.value_sum = 20, 4, 1.0
    expected = 0.25 + 1.8 * math.sqrt(math.log(20) / 4) - 3.0 * 5 / 6
    assert search.ucb(parent, child) == pytest.approx(expected)
    cola = MCTS(
        lambda chain: 0.0, 6, SearchConfig(exploration_count="global", stop=NO_STOP), np.random.default_rng(0)
    )
    cola.result.iterations = 99  # the 100th simulation is running
    assert cola.ucb(parent, child) == pytest.approx(0.25 + 1.8 * math.sqrt(math.log(100) / 4) - 3.0 * 5 / 6)


@pytest.mark.parametrize("widening", [0.0, 1.0])
def test_every_simulation_evaluates_a_new_chain_once_and_backs_it_up_once(widening):
    evaluate, calls = counting(graded)
    config = SearchConfig(simulations=40, widening=widening, stop=NO_STOP)
    search = MCTS(evaluate, 6, config, np.random.default_rng(1))
    result = search.run()
    assert len(calls) == len(set(calls)) == 41  # the full chain, then one new chain per simulation
    assert result.iterations == 40 and search.root.visits == 41
    # The root's statistics are every reward exactly once: no transposition counted twice.
    assert search.root.value_sum == pytest.approx(sum(result.rewards.values()))


def test_the_first_simulation_evaluates_a_child_of_the_full_chain():
    result = search_function("mcts")(
        graded, 6, SearchConfig(simulations=1, stop=NO_STOP), np.random.default_rng(0)
    )
    full, first = list(result.rewards)
    assert first in children(full, 6, SearchConfig().edits)


def test_a_chain_reached_by_two_edit_orders_is_one_node_linked_under_both_parents():
    search = MCTS(graded, 5, SearchConfig(simulations=300, stop=NO_STOP), np.random.default_rng(0))
    search.run()
    parents: dict[tuple, int] = {}
    for node in search.nodes.values():
        for child in node.children:
            parents[child.chain] = parents.get(child.chain, 0) + 1
    assert max(parents.values()) >= 2
    assert all(
        child is search.nodes[child.chain] for node in search.nodes.values() for child in node.children
    )


def test_undoing_a_repeat_links_the_ancestor_without_an_evaluation():
    search = MCTS(graded, 4, SearchConfig(simulations=10, stop=NO_STOP), np.random.default_rng(0))
    search.result.original_reward = search.evaluate(search.root.chain)
    node = Node((0, 1, 2, 3, 3))
    search.nodes[node.chain] = node
    search.evaluate(node.chain)
    assert search.root.chain in [chain for chain, _ in search.untried(node)]  # skip a copy of 3
    evaluated = len(search.result.rewards)
    new = []
    while (child := search.expand(node)) is not None:
        new.append(child.chain)
    assert search.root.chain not in new and len(search.result.rewards) == evaluated + len(new)
    assert search.root in node.children and not node.untried  # fully expanded: selection goes through


def test_mcts_descends_through_repeat_nodes_to_a_chain_only_they_lead_to():
    # Three repeats of the full chain: every path to it descends through two repeat nodes.
    target = (0, 0, 1, 1, 2, 2)
    config = SearchConfig(simulations=300, length_penalty=0.0, stop=NO_STOP)
    result = search_function("mcts")(
        lambda chain: float(chain == target), 3, config, np.random.default_rng(0)
    )
    assert result.rewards.get(target) == 1.0


def test_progressive_widening_bounds_children_by_visits_and_goes_deeper():
    def depth_reached(widening):
        search = MCTS(
            graded,
            30,
            SearchConfig(simulations=200, widening=widening, stop=NO_STOP),
            np.random.default_rng(0),
        )
        result = search.run()
        for node in search.nodes.values():
            if widening:  # children first made here; linking one met before (a transposition) is free
                assert node.grown <= math.ceil(widening * math.sqrt(node.visits))
        return max(30 - len(chain) for chain in result.rewards)  # skips only shorten: edits deep

    assert depth_reached(0.0) <= 4  # about 89 children a node: the root and part of one level
    assert depth_reached(0.5) >= 10


def test_the_edit_prior_expands_first_the_edit_that_helped_elsewhere():
    # Skipping layer 4 helps wherever it is done; every other edit hurts.
    def evaluate(chain):
        return 0.3 - 0.01 * abs(len(chain) - 7) + 0.1 * (4 not in chain)

    config = SearchConfig(simulations=60, widening=1.0, prior="edits", stop=NO_STOP)
    search = MCTS(evaluate, 8, config, np.random.default_rng(0))
    result = search.run()
    learned = search.effects.mean(("skip", 4, 1))
    assert learned > 0 and all(
        search.effects.mean(key) < learned for key in search.effects.totals if key != ("skip", 4, 1)
    )
    # Once learned, every node expanded afterwards that can skip layer 4 alone does so first.
    without_four = [chain for chain in result.rewards if 4 not in chain]
    assert len(without_four) > len(result.rewards) / 2


def test_the_reference_search_walks_one_path_of_single_edits():
    config = SearchConfig(name="reference", simulations=12, stop=NO_STOP)
    result = search_function("reference")(graded, 10, config, np.random.default_rng(3))
    chains = list(result.rewards)
    # The first simulation re-evaluates the full chain, as in the source, and costs no budget.
    assert len(chains) == 13 and result.iterations >= 13  # a walk may step back onto a chain it met
    for index, chain in enumerate(chains[1:], start=1):  # each new chain edits one met before it
        assert any(chain in children(earlier, 10, config.edits) for earlier in chains[:index])
    root_children = children(tuple(range(10)), 10, config.edits)
    assert sum(chain in root_children for chain in chains) <= 2  # a path, not siblings (MCTS: 25)
    tree = search_function("mcts")(
        graded, 10, SearchConfig(simulations=25, stop=NO_STOP), np.random.default_rng(3)
    )
    assert len(root_children) == 29
    assert all(chain in root_children for chain in list(tree.rewards)[1:])  # 25 siblings, not a path


def test_a_dense_reward_does_not_stop_an_originally_correct_search_at_an_equal_length_chain():
    rule = StopRule(enabled=True, min_saving=2)
    assert not rule.should_stop(0.95, tuple(range(10)), original_reward=0.8, n_layers=10)
    assert rule.should_stop(0.95, tuple(range(8)), original_reward=0.8, n_layers=10)
    assert rule.should_stop(0.6, tuple(range(11)), original_reward=0.2, n_layers=10)
    assert CORRECT == 0.5


def test_a_learned_prior_orders_expansion_and_a_bad_file_is_named(tmp_path):
    prior = {
        "format": "cola-edit-prior",
        "n_layers": 6,
        "edits": [
            {"kind": "skip", "layer": 3, "size": 1, "score": 0.4},
            {"kind": "repeat", "layer": 1, "size": 1, "score": 0.2},
        ],
    }
    path = tmp_path / "prior.json"
    path.write_text(json.dumps(prior))
    config = SearchConfig(simulations=3, prior="learned", prior_file=str(path), stop=NO_STOP)
    result = search_function("mcts")(graded, 6, config, np.random.default_rng(0))
    assert list(result.rewards)[1:3] == [(0, 1, 2, 4, 5), (0, 1, 1, 2, 3, 4, 5)]  # best-scored edits first
    with pytest.raises(ValueError, match="prior=learned takes a prior_file"):
        SearchConfig(prior="learned")
    missing = SearchConfig(prior="learned", prior_file=str(tmp_path / "none.json"))
    with pytest.raises(FileNotFoundError, match="edit prior file not found: .*none.json"):
        search_function("mcts")(graded, 6, missing, np.random.default_rng(0))
    with pytest.raises(ValueError, match="learned on a 6-layer model; this one has 8 layers"):
        search_function("mcts")(graded, 8, config, np.random.default_rng(0))
