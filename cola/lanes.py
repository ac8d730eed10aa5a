"""Several chains advanced together through one round of new tokens, sharing and batching work.

A round is the prompt, or one generated token per chain. At each chain step the chains' work
items are deduplicated (chains with the same prefix and the same text so far need the same
item), looked up in the prefix cache, and the rest are grouped by the layer they run: one
batched call per distinct layer. Decoding one token is bound by reading a layer's weights, so a
call for many chains costs about what a call for one does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cola.cache import BatchedStepView, ChainCache, stack_rows
from cola.chain import Chain
from cola.composer import ChainModel, StepInputs
from cola.prefix_cache import CacheKey, EngineStats, PrefixCache


@dataclass
class Lane:
    """One chain in a round: its input hidden state (then each step's output) and its KV cache."""

    chain: Chain
    hidden: torch.Tensor  # (1, t, H)
    cache: ChainCache | None = None
    context: tuple[int, ...] = ()  # tokens generated before this round's


class RoundRunner:
    def __init__(self, chain_model: ChainModel, cache: PrefixCache, stats: EngineStats):
        self.chain_model = chain_model
        self.cache = cache
        self.stats = stats
        self.written: set[int] = set()  # lanes whose cache a layer call wrote in place this step

    def run(self, lanes: list[Lane], inputs: StepInputs, tokens: int) -> list[torch.Tensor]:
        """Run every lane's chain on its ``tokens`` new tokens; each lane's final hidden state."""
        finals: list[torch.Tensor | None] = [None] * len(lanes)
        for step in range(max(len(lane.chain) for lane in lanes)):
            needs: dict[CacheKey, list[Lane]] = {}
            for lane in lanes:
                if step < len(lane.chain):
                    needs.setdefault((lane.context, lane.chain[: step + 1]), []).append(lane)
            self.stats.lane_steps += sum(len(group) for group in needs.values())
            done: dict[CacheKey, tuple[torch.Tensor, ...]] = {}
            by_layer: dict[int, list[CacheKey]] = {}
            for key, group in needs.items():
                entry = self.cache.get(key)
                # A prompt scored without a KV cache left no keys and values: decoding recomputes.
                if entry is None or (group[0].cache is not None and len(entry) == 1):
                    by_layer.setdefault(key[1][-1], []).append(key)
                else:
                    done[key] = entry
            for layer_idx, keys in by_layer.items():
                done.update(
                    self._compute(layer_idx, keys, [needs[key][0] for key in keys], inputs, step, tokens)
                )
            for key, group in needs.items():
                hidden, *new_kv = done[key]
                for lane in group:
                    lane.hidden = hidden
                    if lane.cache is not None and id(lane) not in self.written:
                        lane.cache.update(step, *new_kv)
            self.written.clear()
            for index, lane in enumerate(lanes):
                if len(lane.chain) == step + 1:
                    finals[index] = lane.hidden
        return finals

    def _compute(
        self,
        layer_idx: int,
        keys: list[CacheKey],
        representatives: list[Lane],
        inputs: StepInputs,
        step: int,
        tokens: int,
    ) -> dict[CacheKey, tuple[torch.Tensor, ...]]:
        hidden = stack_rows([lane.hidden for lane in representatives])
        past = None
        if representatives[0].cache is not None:
            past = BatchedStepView([lane.cache for lane in representatives], step)
            if past.writes_in_place:
                self.written.add(id(representatives[0]))
        output = self.chain_model.apply_layer(hidden, layer_idx, inputs, past)
        self.stats.layer_forwards += len(keys)
        self.stats.token_layer_forwards += len(keys) * tokens
        results = {}
        for row, key in enumerate(keys):
            entry = (output[row : row + 1], *(t[row : row + 1] for t in (past.new if past else ())))
            if len(keys) > 1:
                # Rows of their own: a slice would keep the whole batch alive past the byte bound.
                entry = tuple(t.clone() for t in entry)
            results[key] = entry
            self.cache.put(key, entry)
        return results
