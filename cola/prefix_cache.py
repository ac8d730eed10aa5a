"""What the engine keeps between evaluations, and what it counts.

A *work item* is one layer run for one chain prefix on one token context: the prompt (context
``()``), or one generated token after the tokens generated before it. Two chains that share a
prefix and, when generating, the text so far, share that prefix's work items.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from cola.chain import Chain

CacheKey = tuple[tuple[int, ...], Chain]  # (tokens generated so far, chain prefix)


def distinct_prefixes(chains: list[Chain]) -> int:
    """Nodes of the trie of ``chains``: in sorted order each chain adds what it does not share
    with the one before it (the longest prefix it shares with any earlier one)."""
    total, previous = 0, ()
    for chain in sorted(set(chains)):
        shared = next(
            (k for k, (a, b) in enumerate(zip(previous, chain, strict=False)) if a != b),
            min(len(previous), len(chain)),
        )
        total += len(chain) - shared
        previous = chain
    return total


def ideal_work(requested: list[tuple[Chain, Sequence[int]]], *, prompt_tokens: int) -> int:
    """Work the fewest computations need: every distinct (text so far, chain prefix) once, the
    prompt weighing ``prompt_tokens`` and each fed token one. A chain that generated n tokens
    was fed the prompt and its first n - 1 tokens; chains with the same text so far share."""
    total, depth, level = 0, 0, [requested]
    while level:
        weight = prompt_tokens if depth == 0 else 1
        following = []
        for group in level:
            if len(group) == 1 and depth:  # alone from here on: every later context is its own
                chain, tokens = group[0]
                total += (len(tokens) - depth) * len(chain)
                continue
            total += weight * distinct_prefixes([chain for chain, _ in group])
            by_token: dict[int, list] = {}
            for chain, tokens in group:
                if len(tokens) > depth + 1:
                    by_token.setdefault(tokens[depth], []).append((chain, tokens))
            following += by_token.values()
        level, depth = following, depth + 1
    return total


@dataclass
class EngineStats:
    layer_forwards: int = 0  # work items computed
    token_layer_forwards: int = 0  # tokens x layers computed, padding included: the arithmetic
    lane_steps: int = 0  # work items the evaluated chains needed, before any reuse
    evictions: int = 0
    speculative: int = 0  # chains computed ahead of a request and not asked for (yet)
    prompt_tokens: int = 0  # the fewest tokens any engine must compute per layer on the prompt
    # The requested chains and the tokens each generated (references to what the caller keeps):
    # the ideal counts are computed from these when asked, never kept per token.
    requested: list[tuple[Chain, Sequence[int]]] = field(default_factory=list, repr=False)

    def note_requested(self, chain: Chain, tokens: Sequence[int] = ()) -> None:
        self.requested.append((chain, tokens))

    @property
    def ideal_layer_forwards(self) -> int:
        """Each distinct work item of the requested chains computed once: the size of the trie."""
        return ideal_work(self.requested, prompt_tokens=1)

    @property
    def ideal_token_layer_forwards(self) -> int:
        return ideal_work(self.requested, prompt_tokens=self.prompt_tokens)

    @property
    def prefix_hits(self) -> int:
        return max(self.lane_steps - self.layer_forwards, 0)

    def as_dict(self) -> dict:
        return {
            "layer_forwards": self.layer_forwards,
            "ideal_layer_forwards": self.ideal_layer_forwards,
            "token_layer_forwards": self.token_layer_forwards,
            "ideal_token_layer_forwards": self.ideal_token_layer_forwards,
            "prefix_hits": self.prefix_hits,
            "lane_steps": self.lane_steps,
            "prefix_hit_rate": self.prefix_hits / self.lane_steps if self.lane_steps else 0.0,
            "evictions": self.evictions,
            "speculative_unused": self.speculative,
        }


class PrefixCache:
    """LRU map (token context, chain prefix) -> tensors, bounded by total bytes."""

    def __init__(self, max_bytes: int, stats: EngineStats):
        self.max_bytes = max_bytes
        self.stats = stats
        self.entries: OrderedDict[CacheKey, tuple[torch.Tensor, ...]] = OrderedDict()
        self.bytes = 0

    def get(self, key: CacheKey) -> tuple[torch.Tensor, ...] | None:
        entry = self.entries.get(key)
        if entry is not None:
            self.entries.move_to_end(key)
        return entry

    def put(self, key: CacheKey, tensors: tuple[torch.Tensor, ...]) -> None:
        size = sum(t.numel() * t.element_size() for t in tensors)
        if key in self.entries:
            self.bytes -= sum(t.numel() * t.element_size() for t in self.entries.pop(key))
        if size > self.max_bytes:
            return
        while self.bytes + size > self.max_bytes:
            _, evicted = self.entries.popitem(last=False)
            self.bytes -= sum(t.numel() * t.element_size() for t in evicted)
            self.stats.evictions += 1
        self.entries[key] = tensors
        self.bytes += size
