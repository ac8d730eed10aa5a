"""The adapter from search to the model: ``chain -> reward`` for one benchmark query.

This is the only module of ``search`` that imports torch, ``cola`` and ``benchmarks``. Its job is to
not recompute what it has: chains are memoized by the search, and the hidden states after every
chain prefix on the prompt are kept in a byte-bounded LRU cache, so a chain that shares its first
k steps with an evaluated one starts at step k. For generation the prefix entry also holds that
step's keys and values, so the prompt's KV cache is rebuilt from shared prefixes as well.
With ``reuse_prefixes=False`` it is the naive evaluator: every chain from scratch.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import torch

from benchmarks.queries import GenerationQuery, LetterQuery, LoglikelihoodQuery, Query
from benchmarks.runner import stop_rule_for
from cola import Chain, ChainModel
from cola.generation import greedy_decode


@dataclass(frozen=True)
class EngineConfig:
    reuse_prefixes: bool = True
    prefix_cache_mb: float = 2048.0


@dataclass
class EngineStats:
    layer_forwards: int = 0
    decode_forwards: int = 0  # generation only: new-token steps, the same for every evaluator
    prefix_hits: int = 0
    prefix_misses: int = 0
    evictions: int = 0
    chains: int = 0
    prefixes_seen: set = field(default_factory=set, repr=False)

    @property
    def ideal_prompt_forwards(self) -> int:
        """Each distinct chain prefix computed once on the prompt: the size of the prefix trie."""
        return len(self.prefixes_seen)

    def as_dict(self) -> dict:
        lookups = self.prefix_hits + self.prefix_misses
        return {
            "layer_forwards": self.layer_forwards,
            "ideal_layer_forwards": self.ideal_prompt_forwards + self.decode_forwards,
            "prefix_hits": self.prefix_hits,
            "prefix_hit_rate": self.prefix_hits / lookups if lookups else 0.0,
            "evictions": self.evictions,
        }


class PrefixCache:
    """LRU map chain-prefix -> tensors, bounded by total bytes."""

    def __init__(self, max_bytes: int, stats: EngineStats):
        self.max_bytes = max_bytes
        self.stats = stats
        self.entries: OrderedDict[Chain, tuple[torch.Tensor, ...]] = OrderedDict()
        self.bytes = 0

    def get(self, prefix: Chain) -> tuple[torch.Tensor, ...] | None:
        entry = self.entries.get(prefix)
        if entry is not None:
            self.entries.move_to_end(prefix)
        return entry

    def put(self, prefix: Chain, tensors: tuple[torch.Tensor, ...]) -> None:
        size = sum(t.numel() * t.element_size() for t in tensors)
        if prefix in self.entries or size > self.max_bytes:
            return
        while self.bytes + size > self.max_bytes:
            _, evicted = self.entries.popitem(last=False)
            self.bytes -= sum(t.numel() * t.element_size() for t in evicted)
            self.stats.evictions += 1
        self.entries[prefix] = tensors
        self.bytes += size


class ChainEvaluator:
    """``chain -> 1.0 / 0.0`` (correct or not) for one query, reusing shared prefixes."""

    def __init__(
        self, chain_model: ChainModel, tokenizer, query: Query, config: EngineConfig = EngineConfig()
    ):
        self.chain_model = chain_model
        self.tokenizer = tokenizer
        self.query = query
        self.config = config
        self.stats = EngineStats()
        self.cache = PrefixCache(int(config.prefix_cache_mb * 2**20), self.stats)
        self.generation = isinstance(query, GenerationQuery)
        # Generation extends the mask token by token, so it needs a concrete one.
        self.attention_mask = torch.ones_like(query.input_ids) if self.generation else query.attention_mask
        with torch.inference_mode():
            self.embedded = chain_model.embed(query.input_ids)
            # Masks and rotary tables depend on positions only, never on the chain: build them once.
            self.inputs = chain_model.step_inputs(self.embedded, attention_mask=self.attention_mask)
        self.details: dict[Chain, dict] = {}

    def __call__(self, chain: Chain) -> float:
        chain = tuple(chain)
        self.stats.chains += 1
        self.stats.prefixes_seen.update(chain[:k] for k in range(1, len(chain) + 1))
        with torch.inference_mode():
            outcome = self._generate(chain) if self.generation else self._choose(chain)
        self.details[chain] = outcome
        return 1.0 if outcome["correct"] else 0.0

    def _start(self, chain: Chain) -> tuple[int, torch.Tensor, list[tuple[torch.Tensor, ...]]]:
        """Longest reusable prefix: (steps done, hidden after them, per-step cache entries)."""
        entries: list[tuple[torch.Tensor, ...]] = []
        if self.config.reuse_prefixes:
            for k in range(1, len(chain) + 1):
                entry = self.cache.get(chain[:k])
                if entry is None:
                    break
                entries.append(entry)
        self.stats.prefix_hits += bool(entries)
        self.stats.prefix_misses += not entries
        hidden = entries[-1][0] if entries else self.embedded
        return len(entries), hidden, entries

    def _run_prompt(self, chain: Chain, cache=None) -> torch.Tensor:
        done, hidden, entries = self._start(chain)
        if cache is not None:
            for step, (_, keys, values) in enumerate(entries):
                cache.keys[step], cache.values[step] = keys, values
        for step in range(done, len(chain)):
            hidden = self.chain_model.run_layer(hidden, chain[step], self.inputs, cache=cache, step=step)
            self.stats.layer_forwards += 1
            if self.config.reuse_prefixes:
                kv = (cache.keys[step], cache.values[step]) if cache is not None else ()
                self.cache.put(chain[: step + 1], (hidden, *kv))
        return hidden

    def _choose(self, chain: Chain) -> dict:
        query: LetterQuery | LoglikelihoodQuery = self.query
        outcome = query.score(self._run_prompt(chain), self.chain_model.head)
        return {"correct": outcome.correct, "prediction": outcome.prediction}

    def _generate(self, chain: Chain) -> dict:
        query: GenerationQuery = self.query
        cache = self.chain_model.new_cache(chain)
        hidden = self._run_prompt(chain, cache)
        cache.seen_tokens = query.input_ids.shape[1]
        first_logits = self.chain_model.head(hidden, logits_to_keep=1)[:, -1]
        tokens = greedy_decode(
            self.chain_model,
            cache,
            first_logits,
            self.attention_mask,
            max_new_tokens=query.max_new_tokens,
            eos_token_id=self.tokenizer.eos_token_id,
            stop_rule=stop_rule_for(self.tokenizer, query.stop_strings),
        )
        decode = (tokens.shape[1] - 1) * len(chain)
        self.stats.layer_forwards += decode
        self.stats.decode_forwards += decode
        graded = query.grade(self.tokenizer.decode(tokens[0], skip_special_tokens=True))
        return {"correct": graded["correct"], "prediction": graded["prediction"]}
