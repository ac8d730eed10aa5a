"""The static-chain race on toy scorers whose best chain is known."""

from __future__ import annotations

import numpy as np
import pytest

from search import EditConfig
from search.static_chain import (
    RaceConfig,
    keep_rate_path,
    learn_static_chain,
    pick_on_validation,
    pick_shortest_reaching,
)

TARGET = (0, 1, 3, 4, 4, 5)  # layer 2 skipped, layer 4 repeated
QUESTIONS = 400


def edit_distance(a: tuple, b: tuple) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


class ToyScorer:
    """Accuracy 0.8 at TARGET, 0.1 less per edit away; question q is a hit below that accuracy."""

    def __init__(self):
        self.thresholds = (np.arange(QUESTIONS) * 0.6180339887) % 1.0  # evenly spread in [0, 1)
        self.asked: list[tuple[int, int]] = []

    def __call__(self, chains, n):
        self.asked.append((len(chains), n))
        accuracy = np.array([0.8 - 0.1 * edit_distance(tuple(chain), TARGET) for chain in chains])
        return (self.thresholds[:n, None] < accuracy[None, :]).astype(float)


def test_the_race_walks_from_the_full_chain_to_the_known_best_chain():
    scorer = ToyScorer()
    config = RaceConfig(screen_questions=100, finalists=3, final_questions=QUESTIONS)
    path = learn_static_chain(tuple(range(6)), 6, scorer, config)
    assert path[-1].chain == TARGET
    assert [step.edit for step in path] == [None, "skip1@2", "repeat@3"]
    assert [round(step.final_accuracy, 2) for step in path] == [0.6, 0.7, 0.8]
    # Every screen scores each untried edit on the screening questions, then 3 finalists go on.
    screens = [asked for asked in scorer.asked if asked[1] == 100]
    finals = [asked for asked in scorer.asked[1:] if asked[1] == QUESTIONS]
    assert len(screens) == 3 and all(count > 3 for count, _ in screens)
    assert finals == [(3, QUESTIONS)] * 3


def test_a_shorter_chain_within_tolerance_is_taken_and_a_small_gain_is_not():
    def flat(chains, n):  # every chain equally good: only removals qualify
        return np.ones((n, len(chains)))

    config = RaceConfig(
        screen_questions=5, finalists=2, final_questions=10, edits=EditConfig(skip_sizes=(1,))
    )
    path = learn_static_chain((0, 1, 2, 3), 4, flat, config)
    assert [len(step.chain) for step in path] == [4, 3, 2, 1]

    def slightly_better_when_longer(chains, n):  # +0.1 points per extra step: below min_gain
        return np.array(
            [[0.5 + 0.001 * len(chain) > q / n for chain in chains] for q in range(n)], dtype=float
        )

    config = RaceConfig(screen_questions=1000, finalists=2, final_questions=1000, shorter_tolerance=0.0)
    path = learn_static_chain((0, 1, 2, 3), 4, slightly_better_when_longer, config)
    assert len(path) == 1  # a repeat gains 0.1 points (< 0.5); a skip loses 0.1 (> 0 tolerated)


def test_the_race_never_returns_to_a_chain_it_left():
    def alternating(chains, n):  # a repeat always gains a point, a removal loses none
        return np.array(
            [[q < n * (0.5 + 0.01 * (len(chain) % 2)) for chain in chains] for q in range(n)], dtype=float
        )

    config = RaceConfig(screen_questions=100, finalists=4, final_questions=100, max_steps=12)
    path = learn_static_chain((0, 1, 2), 3, alternating, config)
    chains = [step.chain for step in path]
    assert len(chains) == len(set(chains))
    assert len(path) <= config.max_steps + 1


def test_validation_picks_the_best_then_the_shortest():
    chains = [(0, 1, 2, 3), (0, 2, 3), (0, 3)]
    assert pick_on_validation(chains, [0.5, 0.6, 0.55]) == 1
    assert pick_on_validation(chains, [0.5, 0.6, 0.6]) == 2


def test_race_settings_are_checked():
    with pytest.raises(ValueError, match="screen_questions"):
        RaceConfig(screen_questions=300, final_questions=200)
    with pytest.raises(ValueError, match="finalists"):
        RaceConfig(finalists=0)


class NeedScorer:
    """Question q stays faithful unless the chain lacks a layer q needs: layer 0 is needed by all,
    layer 1 by half, layer 2 by 1 in 400, layers 3 and 4 by 2 in 400 each (other questions),
    layer 5 by none."""

    def __init__(self):
        self.needs = [set(range(QUESTIONS)), set(range(0, QUESTIONS, 2)), {1}, {3, 5}, {7, 9}, set()]

    def __call__(self, chains, n):
        return np.array(
            [
                [
                    all(q not in self.needs[layer] for layer in range(6) if layer not in chain)
                    for chain in chains
                ]
                for q in range(n)
            ],
            dtype=float,
        )


def test_keep_rate_removes_layers_in_keep_rate_order_while_99_percent_stay_faithful():
    config = RaceConfig(screen_questions=QUESTIONS, final_questions=QUESTIONS)
    path, rates = keep_rate_path(6, NeedScorer(), config, min_keep=0.99)
    assert rates[5] == 1.0 and rates[2] == pytest.approx(399 / 400) and rates[1] == pytest.approx(0.5)
    # 5 (keeps all), 2 (399/400), 3 (397/400 with 2); then 4 would leave 395/400 < 0.99; 1 keeps half.
    assert [step.chain for step in path] == [(0, 1, 2, 3, 4, 5), (0, 1, 2, 3, 4), (0, 1, 3, 4), (0, 1, 4)]
    assert [step.edit for step in path[1:]] == ["skip 5", "skip 2", "skip 3"]
    assert path[-1].final_accuracy == pytest.approx(397 / 400)


def test_a_faithful_path_stops_at_its_shortest_chain_that_reaches_the_floor():
    chains = [(0, 1, 2, 3), (0, 2, 3), (0, 3)]
    assert pick_shortest_reaching(chains, [1.0, 0.995, 0.97], 0.99) == 1
    assert pick_shortest_reaching(chains, [1.0, 0.995, 0.99], 0.99) == 2
    with pytest.raises(ValueError, match="reaches 0.99"):
        pick_shortest_reaching(chains, [0.9, 0.9, 0.9], 0.99)
