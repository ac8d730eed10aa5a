"""What the engine keeps between evaluations, and what it counts.

A *work item* is one layer run for one chain prefix on one token context: the prompt (context
``()``), or one generated token after the tokens generated before it. Two chains that share a
prefix and, when generating, the text so far, share that prefix's work items.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import torch

from cola.chain import Chain

CacheKey = tuple[tuple[int, ...], Chain]  # (tokens generated so far, chain prefix)


@dataclass
class EngineStats:
    layer_forwards: int = 0  # work items computed
    token_layer_forwards: int = 0  # tokens x layers computed, padding included: the arithmetic
    lane_steps: int = 0  # work items the evaluated chains needed, before any reuse
    evictions: int = 0
    speculative: int = 0  # chains computed ahead of a request and not asked for (yet)
    work_seen: dict[CacheKey, int] = field(default_factory=dict, repr=False)

    def note_work(self, chain: Chain, contexts: list[tuple[int, ...]], prompt_tokens: int) -> None:
        """Record the work items an evaluated chain needed (for the ideal count)."""
        for context in contexts:
            tokens = 1 if context else prompt_tokens
            for k in range(1, len(chain) + 1):
                self.work_seen[(context, chain[:k])] = tokens

    @property
    def ideal_layer_forwards(self) -> int:
        """Each distinct work item of the requested chains computed once: the size of the trie."""
        return len(self.work_seen)

    @property
    def ideal_token_layer_forwards(self) -> int:
        return sum(self.work_seen.values())

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
