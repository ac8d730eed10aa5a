"""Monte Carlo Tree Search over chains, one search per sample.

The root is the full chain; a node's children are its distinct single-edit chains
(:mod:`search.actions`). Nodes are shared by chain (a transposition table), so two edit orders
that reach the same chain update one set of statistics. Selection takes, with probability
``random_prob``, a random child, else the child maximizing

    mean reward + exploration * sqrt(ln N / n) - length_penalty * len(chain) / L

with N the number of simulations so far, as in the CoLa reference. Unlike the reference, whose
selection descends through any node that has one child (so each node only ever gets one), we
descend only through fully expanded nodes: textbook MCTS, which lets the root's siblings compete.
"""

from __future__ import annotations

import math

import numpy as np

from search.actions import children
from search.config import SearchConfig
from search.types import Chain, Evaluator, MemoEvaluator, SearchResult


class Node:
    __slots__ = ("chain", "children", "untried", "value_sum", "visits")

    def __init__(self, chain: Chain):
        self.chain = chain
        self.children: list[Node] = []
        self.untried: list[Chain] | None = None  # filled (shuffled) on first expansion
        self.visits = 0
        self.value_sum = 0.0

    def fully_expanded(self) -> bool:
        return self.untried is not None and not self.untried


class MCTS:
    """One search: call :meth:`run` once."""

    def __init__(self, evaluator: Evaluator, n_layers: int, config: SearchConfig, rng: np.random.Generator):
        self.n_layers = n_layers
        self.config = config
        self.rng = rng
        self.root = Node(tuple(range(n_layers)))
        self.nodes: dict[Chain, Node] = {self.root.chain: self.root}
        self.result = SearchResult(n_layers=n_layers, original_reward=float("nan"))
        self.evaluate = MemoEvaluator(evaluator, self.result)
        self.simulations_left = config.simulations  # what expand() may still ask for

    def ucb(self, node: Node, total: int) -> float:
        if node.visits == 0:
            return math.inf
        mean = node.value_sum / node.visits
        explore = self.config.exploration * math.sqrt(math.log(total) / node.visits)
        return mean + explore - self.config.length_penalty * len(node.chain) / self.n_layers

    def select(self, total: int) -> list[Node]:
        path, on_path = [self.root], {self.root.chain}
        node = self.root
        while node.fully_expanded():
            options = [child for child in node.children if child.chain not in on_path]  # no cycles
            if not options:
                break
            if self.rng.random() < self.config.random_prob:
                node = options[self.rng.integers(len(options))]
            else:
                node = max(options, key=lambda child: self.ucb(child, total))
            path.append(node)
            on_path.add(node.chain)
        return path

    def expand(self, node: Node, on_path: set[Chain]) -> Node | None:
        if node.untried is None:
            chains = list(children(node.chain, self.n_layers, self.config.edits))
            order = self.rng.permutation(len(chains))
            node.untried = [chains[i] for i in order]
            # The root is expanded child after child until it is full (selection descends only
            # through full nodes), so all of its children are certain to come, budget allowing.
            certain = min(len(chains), self.simulations_left) if node is self.root else 1
            pop_order = node.untried[::-1]
            self.evaluate.hint(
                pop_order, certain=certain, budget=self.simulations_left, may_stop=self.config.stop.enabled
            )
        while node.untried:
            chain = node.untried.pop()
            if chain in on_path:
                continue  # an edit that undoes an ancestor's edit would close a cycle
            child = self.nodes.setdefault(chain, Node(chain))
            node.children.append(child)
            return child
        return None

    def run(self) -> SearchResult:
        self.result.original_reward = self.evaluate(self.root.chain)
        for simulation in range(1, self.config.simulations + 1):
            self.simulations_left = self.config.simulations - simulation + 1
            path = self.select(simulation)
            leaf = path[-1]
            if leaf.visits > 0 and not leaf.fully_expanded():
                child = self.expand(leaf, {node.chain for node in path})
                if child is not None:
                    path.append(child)
            reward = self.evaluate(path[-1].chain)
            for node in path:
                node.visits += 1
                node.value_sum += reward
            self.result.iterations = simulation
            if self.config.stop.should_stop(
                reward, path[-1].chain, original_reward=self.result.original_reward, n_layers=self.n_layers
            ):
                self.result.stopped_early = True
                break
        return self.result


def mcts_search(
    evaluator: Evaluator, n_layers: int, config: SearchConfig, rng: np.random.Generator
) -> SearchResult:
    return MCTS(evaluator, n_layers, config, rng).run()
