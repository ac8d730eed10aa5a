"""One chain for every input, learned by greedy single edits raced on labelled questions.

TALE's greedy layer selection (arXiv 2510.22767), sized for a CPU by racing: each step scores
every single edit of the current chain (skip one or two steps, repeat one) on a small screening
set, then the best few and the current chain on a larger final set, and takes the first finalist
(by final accuracy, then fewer steps) that either raises accuracy there by ``min_gain`` or removes
steps while losing at most ``shorter_tolerance``. It stops when no finalist qualifies.

What "accuracy" means is the scorer's business (the gold answer, or the full chain's own answer for
faithful shortening); this module sees only 0/1 hits, so it runs on a toy scorer as on a model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from search.actions import EditConfig, children
from search.types import Chain

Scorer = Callable[[Sequence[Chain], int], np.ndarray]
"""``score(chains, n)``: the (n, len(chains)) 0/1 hits of ``chains`` on the first ``n`` questions."""

EPSILON = 1e-9  # accuracies are fractions of question counts; compare them without float noise


@dataclass(frozen=True)
class RaceConfig:
    screen_questions: int = 200
    finalists: int = 10
    final_questions: int = 1000
    min_gain: float = 0.005  # a finalist that raises final accuracy this much is taken
    shorter_tolerance: float = 0.002  # a shorter one may lose this much
    max_steps: int = 40
    edits: EditConfig = field(default_factory=EditConfig)

    def __post_init__(self):
        if not 0 < self.screen_questions <= self.final_questions:
            raise ValueError(
                f"screen_questions ({self.screen_questions}) must be positive and at most "
                f"final_questions ({self.final_questions})"
            )
        if self.finalists < 1:
            raise ValueError(f"finalists must be at least 1, got {self.finalists}")


@dataclass(frozen=True)
class Step:
    """The chain after a step, the edit that made it and its accuracy on the final set."""

    chain: Chain
    edit: str | None  # None for the starting chain
    final_accuracy: float
    screen_accuracy: float | None = None  # None for the starting chain
    candidates: int = 0  # edits screened to make this step


def order_by_accuracy(chains: Sequence[Chain], accuracy: np.ndarray) -> list[int]:
    """Indexes of ``chains``: higher accuracy first, then fewer steps, then the chain itself."""
    return sorted(
        range(len(chains)), key=lambda k: (-round(float(accuracy[k]), 9), len(chains[k]), chains[k])
    )


def qualifies(candidate: Chain, accuracy: float, current: Chain, base: float, config: RaceConfig) -> bool:
    gain = accuracy - base
    return gain >= config.min_gain - EPSILON or (
        len(candidate) < len(current) and gain >= -config.shorter_tolerance - EPSILON
    )


def race_step(
    current: Chain, base: float, n_layers: int, score: Scorer, config: RaceConfig, seen: set
) -> Step | None:
    """The step the race takes from ``current`` (final accuracy ``base``), or None: no edit qualifies."""
    edits = {
        chain: edit for chain, edit in children(current, n_layers, config.edits).items() if chain not in seen
    }
    if not edits:
        return None
    chains = sorted(edits)  # neighbours share prefixes, which the engine computes once
    screen = score(chains, config.screen_questions).mean(axis=0)
    finalists = [chains[k] for k in order_by_accuracy(chains, screen)[: config.finalists]]
    final = score(finalists, config.final_questions).mean(axis=0)
    for k in order_by_accuracy(finalists, final):
        if qualifies(finalists[k], float(final[k]), current, base, config):
            chain = finalists[k]
            return Step(
                chain, str(edits[chain]), float(final[k]), float(screen[chains.index(chain)]), len(chains)
            )
    return None


def learn_static_chain(start: Chain, n_layers: int, score: Scorer, config: RaceConfig) -> list[Step]:
    """The race's path from ``start``: every chain it took, with its accuracy on the final set."""
    path = [Step(tuple(start), None, float(score([tuple(start)], config.final_questions).mean()))]
    seen = {path[0].chain}
    while len(path) <= config.max_steps:
        step = race_step(path[-1].chain, path[-1].final_accuracy, n_layers, score, config, seen)
        if step is None:
            break
        path.append(step)
        seen.add(step.chain)
    return path


def pick_on_validation(chains: Sequence[Chain], accuracy: Sequence[float]) -> int:
    """Where validation stops the path: the best validation accuracy, then the fewest steps."""
    return order_by_accuracy(chains, np.asarray(accuracy, dtype=float))[0]


def keep_rate_path(
    n_layers: int, score: Scorer, config: RaceConfig, min_keep: float
) -> tuple[list[Step], np.ndarray]:
    """The greedy alternative for faithful shortening: rank layers by how often skipping each alone
    keeps a hit on the screening questions (its keep rate), then remove them in that order, each
    removal kept only if the chain without all removed layers still hits on at least ``min_keep`` of
    the final questions. A layer whose own keep rate is below ``min_keep`` is never tried. Returns
    the path and every layer's keep rate."""
    full = tuple(range(n_layers))
    singles = [tuple(layer for layer in full if layer != skipped) for skipped in full]
    rates = score(singles, config.screen_questions).mean(axis=0)
    path = [Step(full, None, float(score([full], config.final_questions).mean()))]
    removed: set[int] = set()
    for layer in sorted(full, key=lambda k: (-round(float(rates[k]), 9), k)):
        if rates[layer] < min_keep - EPSILON or len(removed) == n_layers - 1:
            break
        candidate = tuple(k for k in full if k not in removed | {layer})
        accuracy = float(score([candidate], config.final_questions).mean())
        if accuracy >= min_keep - EPSILON:
            removed.add(layer)
            path.append(Step(candidate, f"skip {layer}", accuracy, float(rates[layer]), n_layers))
    return path, rates


def pick_shortest_reaching(chains: Sequence[Chain], accuracy: Sequence[float], floor: float) -> int:
    """Where validation stops a faithful path: the fewest steps among chains that hit on at least
    ``floor`` of the questions (the full chain always does, agreeing with itself)."""
    reaching = [k for k in range(len(chains)) if accuracy[k] >= floor - EPSILON]
    if not reaching:
        raise ValueError(f"no chain on the path reaches {floor} on validation")
    return min(reaching, key=lambda k: (len(chains[k]), -accuracy[k], k))
