"""The CoLa / Dr.LLM lineage's MCTS as written (parameterlab/dr-llm ``data_generation.py``).

Read from its source, kept here so that every comparison has the lineage's own search beside it:

* a tree without transpositions, rooted at the full chain; a simulation descends from the root
  while the node has any child, taking a random child with probability ``random_prob`` and else
  the child maximizing ``mean + exploration * sqrt(ln N / n) - length_penalty * len / L`` with N
  the simulations so far (children never visited first);
* at the leaf it reaches: if the leaf was visited before, it expands one random untried edit
  and evaluates that child, else it evaluates the leaf itself; the reward is backed up the path;
* edits: skip a block of 1 or 2 steps, repeat a step once (:mod:`search.actions`, shared with
  every search); the same early stop; best = shortest correct, then fewest distinct layers.

Since selection descends through any node with a child and only leaves are expanded, each node
gets at most one child: the tree is one path, a random walk of single edits from the full chain,
and UCB, the penalty and the random pick never choose between siblings. The first simulation
re-evaluates the root (memoized here: no model call). Deliberate differences: the repeat-count-0
actions (no-ops) are left out, the length cap and penalty use the model's own depth (the source
assumes 28 layers), and ``simulations`` is the budget of distinct chains evaluated, as for every
search here (so that "found within k evaluations" means the same for all): a simulation that
lands on a chain evaluated before costs nothing, up to ``STALLS_PER_SIMULATION`` times the budget
in simulations (the source counts simulations).
"""

from __future__ import annotations

import math

import numpy as np

from search.actions import children
from search.config import SearchConfig
from search.types import Chain, Evaluator, MemoEvaluator, SearchResult

STALLS_PER_SIMULATION = 10  # bound on simulations that find no new chain, per unit of budget


class TreeNode:
    __slots__ = ("chain", "children", "parent", "untried", "value_sum", "visits")

    def __init__(self, chain: Chain, parent: TreeNode | None = None):
        self.chain = chain
        self.parent = parent
        self.children: list[TreeNode] = []
        self.untried: list[Chain] | None = None
        self.visits = 0
        self.value_sum = 0.0


def _ucb(node: TreeNode, simulations: int, config: SearchConfig, n_layers: int) -> float:
    if node.visits == 0:
        return math.inf
    mean = node.value_sum / node.visits
    explore = config.exploration * math.sqrt(math.log(simulations) / node.visits)
    return mean + explore - config.length_penalty * len(node.chain) / n_layers


def _leaf(root: TreeNode, simulation: int, config: SearchConfig, n_layers: int, rng) -> TreeNode:
    node = root
    while node.children:
        if rng.random() < config.random_prob:
            node = node.children[rng.integers(len(node.children))]
        else:
            node = max(node.children, key=lambda child: _ucb(child, simulation, config, n_layers))
    return node


def _expand(node: TreeNode, n_layers: int, config: SearchConfig, rng) -> TreeNode:
    if node.untried is None:
        node.untried = list(children(node.chain, n_layers, config.edits))
    if not node.untried:
        return node
    child = TreeNode(node.untried.pop(int(rng.integers(len(node.untried)))), parent=node)
    node.children.append(child)
    return child


def reference_search(
    evaluator: Evaluator, n_layers: int, config: SearchConfig, rng: np.random.Generator
) -> SearchResult:
    result = SearchResult(n_layers=n_layers, original_reward=float("nan"))
    evaluate = MemoEvaluator(evaluator, result)
    root = TreeNode(tuple(range(n_layers)))
    result.original_reward = evaluate(root.chain)
    simulation = 0
    while (
        len(result.rewards) <= config.simulations and simulation < STALLS_PER_SIMULATION * config.simulations
    ):
        simulation += 1
        node = _leaf(root, simulation, config, n_layers, rng)
        if node.visits > 0:
            node = _expand(node, n_layers, config, rng)
        reward = evaluate(node.chain)
        result.iterations = simulation
        walker = node
        while walker is not None:
            walker.visits += 1
            walker.value_sum += reward
            walker = walker.parent
        if config.stop.should_stop(
            reward, node.chain, original_reward=result.original_reward, n_layers=n_layers
        ):
            result.stopped_early = True
            break
    return result
