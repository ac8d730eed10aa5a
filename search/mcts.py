"""Monte Carlo Tree Search over chains, one search per sample.

The root is the full chain; a node's children are its distinct single-edit chains
(:mod:`search.actions`). Nodes are shared by chain (a transposition table), so two edit orders
that reach the same chain update one set of statistics. Selection takes, with probability
``random_prob``, a random child, else the child maximizing

    mean reward + exploration * sqrt(ln n_parent / n) - length_penalty * len(chain) / L

(UCT; ``exploration_count="global"`` puts the simulations so far in place of n_parent, as the
CoLa reference does). Selection descends through a node once it holds all the children progressive
widening allows (all of them when ``widening`` is 0), else expands it. Each simulation evaluates a
chain no simulation evaluated before, so ``simulations`` is the budget of chain evaluations:
expansion links a child reached before (by another edit order, or an ancestor that undoing a
repeat gives back) without spending a simulation on it, and selection never steps onto a chain
already on its path. The CoLa reference's own search, which grows a single path, is
:mod:`search.reference`.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from search.actions import Edit, children
from search.config import SearchConfig
from search.prior import load_edit_prior
from search.types import Chain, Evaluator, MemoEvaluator, SearchResult


class Node:
    __slots__ = ("chain", "children", "grown", "untried", "value_sum", "visits")

    def __init__(self, chain: Chain):
        self.chain = chain
        self.children: list[Node] = []
        self.grown = 0  # children first created here (linked transpositions cost no widening room)
        self.untried: list[tuple[Chain, tuple]] | None = None  # (child, edit signature); on first expansion
        self.visits = 0
        self.value_sum = 0.0


def signature(chain: Chain, edit: Edit) -> tuple:
    """What an edit does in layer terms (skip 2 from layer 17, repeat layer 5), wherever it applies."""
    return (edit.kind, chain[edit.position], edit.size)


class EditEffects:
    """Mean reward change each edit signature caused where this search tried it: the ``edits`` prior."""

    def __init__(self):
        self.totals: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0])

    def record(self, key: tuple, change: float) -> None:
        total = self.totals[key]
        total[0] += change
        total[1] += 1

    def mean(self, key: tuple) -> float:
        total = self.totals.get(key)
        return total[0] / total[1] if total else 0.0


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
        self.effects = EditEffects()
        self.learned = load_edit_prior(config.prior_file, n_layers) if config.prior == "learned" else {}
        self.evaluations_left = config.simulations

    def ucb(self, parent: Node, child: Node) -> float:
        count = parent.visits if self.config.exploration_count == "parent" else self.result.iterations + 1
        mean = child.value_sum / child.visits
        explore = self.config.exploration * math.sqrt(math.log(max(count, 1)) / child.visits)
        return mean + explore - self.config.length_penalty * len(child.chain) / self.n_layers

    def room_to_widen(self, node: Node) -> bool:
        if node.untried is not None and not node.untried:
            return False
        if self.config.widening == 0:
            return True
        return node.grown < math.ceil(self.config.widening * math.sqrt(node.visits))

    def select(self) -> list[Node]:
        path, on_path = [self.root], {self.root.chain}
        node = self.root
        while not self.room_to_widen(node):
            options = [child for child in node.children if child.chain not in on_path]  # no cycles
            if not options:
                break
            if self.rng.random() < self.config.random_prob:
                node = options[self.rng.integers(len(options))]
            else:
                node = max(options, key=lambda child: self.ucb(path[-1], child))
            path.append(node)
            on_path.add(node.chain)
        return path

    def untried(self, node: Node) -> list[tuple[Chain, tuple]]:
        if node.untried is None:
            edits = children(node.chain, self.n_layers, self.config.edits)
            order = self.rng.permutation(len(edits))
            pairs = list(edits.items())
            node.untried = [(pairs[i][0], signature(node.chain, pairs[i][1])) for i in order]
            # With full expansion a node's children all come before it is descended through;
            # the root's are certain (budget allowing), deeper ones at least the first.
            certain = min(len(pairs), self.evaluations_left) if self.expands_fully(node) else 1
            self.evaluate.hint(
                [chain for chain, _ in reversed(node.untried)],  # in expansion order
                certain=certain,
                budget=self.evaluations_left,
                may_stop=self.config.stop.enabled,
            )
        return node.untried

    def expands_fully(self, node: Node) -> bool:
        return node is self.root and self.config.widening == 0 and self.config.prior is None

    def next_untried(self, node: Node) -> int | None:
        """Index of the untried edit to expand: the last (the list is shuffled) or the best by the prior."""
        untried = self.untried(node)
        if not untried or self.config.prior is None:
            return len(untried) - 1 if untried else None
        return max(
            reversed(range(len(untried))), key=lambda i: self.prior_score(untried[i][1])
        )  # last of ties

    def prior_score(self, key: tuple) -> float:
        return self.learned.get(key, 0.0) if self.config.prior == "learned" else self.effects.mean(key)

    def expand(self, node: Node) -> Node | None:
        """A new child of ``node`` to evaluate; children met before are linked on the way.

        A child met before may be an ancestor on the current path (skipping one copy of a repeated
        layer undoes the repeat): linking it costs nothing, and selection never steps onto a chain
        already on its path. Leaving it untried instead would keep the node from ever being fully
        expanded, so selection would never descend through a repeat node.
        """
        while (index := self.next_untried(node)) is not None:
            chain, key = node.untried.pop(index)
            child = self.nodes.get(chain)
            if child is not None:
                node.children.append(child)  # a transposition: already evaluated, costs nothing
                continue
            child = self.nodes[chain] = Node(chain)
            node.children.append(child)
            node.grown += 1
            reward = self.evaluate(chain)
            self.effects.record(key, reward - self.result.rewards[node.chain])
            return child
        return None

    def backup(self, path: list[Node], reward: float) -> None:
        for node in path:
            node.visits += 1
            node.value_sum += reward

    def run(self) -> SearchResult:
        self.result.original_reward = self.evaluate(self.root.chain)
        self.backup([self.root], self.result.original_reward)
        stalls = 0
        while self.evaluations_left > 0 and stalls < 10 * self.config.simulations:
            path = self.select()
            child = self.expand(path[-1])
            if child is None:  # nothing left to expand below this path: count it, move the statistics
                stalls += 1
                self.backup(path, path[-1].value_sum / path[-1].visits)
                continue
            path.append(child)
            reward = self.result.rewards[child.chain]
            self.backup(path, reward)
            self.evaluations_left -= 1
            self.result.iterations += 1
            if self.config.stop.should_stop(
                reward, child.chain, original_reward=self.result.original_reward, n_layers=self.n_layers
            ):
                self.result.stopped_early = True
                break
        return self.result


def mcts_search(
    evaluator: Evaluator, n_layers: int, config: SearchConfig, rng: np.random.Generator
) -> SearchResult:
    return MCTS(evaluator, n_layers, config, rng).run()
