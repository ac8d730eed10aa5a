"""The ideal work count against a brute-force set of (text so far, chain prefix) items."""

from __future__ import annotations

import numpy as np

from cola.prefix_cache import EngineStats, distinct_prefixes


def brute_force(requested, prompt_tokens: int) -> int:
    items = {}
    for chain, tokens in requested:
        for context in [()] + [tuple(tokens[:i]) for i in range(1, len(tokens))]:
            for k in range(1, len(chain) + 1):
                items[(context, chain[:k])] = 1 if context else prompt_tokens
    return sum(items.values())


def test_ideal_work_equals_the_brute_force_count():
    rng = np.random.default_rng(0)
    for _ in range(200):
        requested = []
        for _ in range(int(rng.integers(1, 8))):
            chain = tuple(int(x) for x in rng.integers(0, 3, size=int(rng.integers(1, 5))))
            tokens = [int(x) for x in rng.integers(0, 2, size=int(rng.integers(0, 6)))]
            requested.append((chain, tokens))
        stats = EngineStats(prompt_tokens=7)
        for chain, tokens in requested:
            stats.note_requested(chain, tokens)
        assert stats.ideal_token_layer_forwards == brute_force(requested, 7)
        assert stats.ideal_layer_forwards == brute_force(requested, 1)


def test_distinct_prefixes_is_the_trie_size():
    assert distinct_prefixes([(0, 1, 2), (0, 1, 3), (0, 1), (4,)]) == 5
    assert distinct_prefixes([]) == 0
