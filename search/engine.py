"""The adapter from search to the model: ``chain -> reward`` for one benchmark query.

This is the only module of ``search`` that imports torch, ``cola`` and ``benchmarks``. Its job is to
not recompute what it has: chains are memoized by the search, and the hidden states after every
chain prefix are kept in a byte-bounded LRU cache, so a chain that shares its first k steps with
an evaluated one starts at step k. For generation an entry also holds that step's keys and values,
and entries are keyed by (tokens generated so far, chain prefix): chains that share a prefix and
have produced the same text so far share the work of each new token too, not only the prompt's.
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
    prefix_hits: int = 0
    prefix_misses: int = 0
    evictions: int = 0
    work_seen: set = field(default_factory=set, repr=False)

    def note_work(self, chain: Chain, contexts: list[tuple[int, ...]]) -> None:
        """Record the (generated tokens so far, chain prefix) pairs an evaluation needed."""
        self.work_seen.update((context, chain[:k]) for context in contexts for k in range(1, len(chain) + 1))

    @property
    def ideal_layer_forwards(self) -> int:
        """Each distinct chain prefix computed once per token context: the size of the trie."""
        return len(self.work_seen)

    def as_dict(self) -> dict:
        lookups = self.prefix_hits + self.prefix_misses
        return {
            "layer_forwards": self.layer_forwards,
            "ideal_layer_forwards": self.ideal_layer_forwards,
            "prefix_hits": self.prefix_hits,
            "prefix_hit_rate": self.prefix_hits / lookups if lookups else 0.0,
            "evictions": self.evictions,
        }


CacheKey = tuple[tuple[int, ...], Chain]  # (tokens generated so far, chain prefix)


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
        if key in self.entries or size > self.max_bytes:
            return
        while self.bytes + size > self.max_bytes:
            _, evicted = self.entries.popitem(last=False)
            self.bytes -= sum(t.numel() * t.element_size() for t in evicted)
            self.stats.evictions += 1
        self.entries[key] = tensors
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
        with torch.inference_mode():
            outcome = self._generate(chain) if self.generation else self._choose(chain)
        generated = outcome.get("tokens", [])
        self.stats.note_work(chain, [()] + [tuple(generated[:i]) for i in range(1, len(generated))])
        self.details[chain] = outcome
        return 1.0 if outcome["correct"] else 0.0

    def _start(self, chain: Chain, context: tuple[int, ...]) -> tuple[int, list[tuple[torch.Tensor, ...]]]:
        """Longest run of cached steps for ``chain`` on ``context`` (the tokens generated so far)."""
        entries: list[tuple[torch.Tensor, ...]] = []
        if self.config.reuse_prefixes:
            for k in range(1, len(chain) + 1):
                entry = self.cache.get((context, chain[:k]))
                if entry is None:
                    break
                entries.append(entry)
        self.stats.prefix_hits += bool(entries)
        self.stats.prefix_misses += not entries
        return len(entries), entries

    def _run(
        self, chain: Chain, hidden, inputs, *, cache=None, context: tuple[int, ...] = ()
    ) -> torch.Tensor:
        """Run ``chain`` on ``hidden`` (the prompt, or one new token after ``context``).

        Cached steps are not recomputed: their output hidden state is taken as is and, with a KV
        cache, the keys and values they would have appended are appended from the entry.
        """
        done, entries = self._start(chain, context)
        for step, entry in enumerate(entries):
            if cache is not None:
                cache.update(step, entry[1], entry[2])
        if entries:
            hidden = entries[-1][0]
        new_tokens = hidden.shape[1]
        for step in range(done, len(chain)):
            hidden = self.chain_model.run_layer(hidden, chain[step], inputs, cache=cache, step=step)
            self.stats.layer_forwards += 1
            if self.config.reuse_prefixes:
                self.cache.put((context, chain[: step + 1]), (hidden, *self._new_kv(cache, step, new_tokens)))
        return hidden

    @staticmethod
    def _new_kv(cache, step: int, new_tokens: int) -> tuple[torch.Tensor, ...]:
        """The keys and values this step just appended, as tensors of their own: a view into
        the growing history would keep the whole history alive and escape the byte bound."""
        if cache is None:
            return ()
        keys, values = cache.keys[step], cache.values[step]
        if keys.shape[-2] == new_tokens:
            return keys, values
        return keys[:, :, -new_tokens:].clone(), values[:, :, -new_tokens:].clone()

    def _choose(self, chain: Chain) -> dict:
        query: LetterQuery | LoglikelihoodQuery = self.query
        outcome = query.score(self._run(chain, self.embedded, self.inputs), self.chain_model.head)
        return {"correct": outcome.correct, "prediction": outcome.prediction}

    def _generate(self, chain: Chain) -> dict:
        if not self.config.reuse_prefixes:
            return self._generate_naive(chain)
        query: GenerationQuery = self.query
        cache = self.chain_model.new_cache(chain)
        hidden = self._run(chain, self.embedded, self.inputs, cache=cache)
        cache.seen_tokens = query.input_ids.shape[1]
        mask = self.attention_mask
        tokens: list[int] = []
        stop = stop_rule_for(self.tokenizer, query.stop_strings)
        for index in range(query.max_new_tokens):
            if index:
                # The new token's states depend on the chain prefix and on every token so far:
                # chains that share both share this step's work (a trie over chain x text).
                mask = torch.cat([mask, mask.new_ones(1, 1)], dim=1)
                embedded = self.chain_model.embed(torch.tensor([[tokens[-1]]]))
                inputs = self.chain_model.step_inputs(
                    embedded, attention_mask=mask, past_length=cache.seen_tokens
                )
                hidden = self._run(chain, embedded, inputs, cache=cache, context=tuple(tokens))
                cache.seen_tokens += 1
            tokens.append(int(self.chain_model.head(hidden, logits_to_keep=1)[0, -1].argmax()))
            if tokens[-1] == self.tokenizer.eos_token_id or bool(stop(torch.tensor([tokens]))[0]):
                break
        return self._graded(tokens)

    def _generate_naive(self, chain: Chain) -> dict:
        """The reference way: a full prefill and greedy decode of the chain from scratch."""
        query: GenerationQuery = self.query
        cache = self.chain_model.new_cache(chain)
        hidden = self._run(chain, self.embedded, self.inputs, cache=cache)
        cache.seen_tokens = query.input_ids.shape[1]
        tokens = greedy_decode(
            self.chain_model,
            cache,
            self.chain_model.head(hidden, logits_to_keep=1)[:, -1],
            self.attention_mask,
            max_new_tokens=query.max_new_tokens,
            eos_token_id=self.tokenizer.eos_token_id,
            stop_rule=stop_rule_for(self.tokenizer, query.stop_strings),
        )
        self.stats.layer_forwards += (tokens.shape[1] - 1) * len(chain)
        return self._graded(tokens[0].tolist())

    def _graded(self, tokens: list[int]) -> dict:
        graded = self.query.grade(self.tokenizer.decode(tokens, skip_special_tokens=True))
        return {"correct": graded["correct"], "prediction": graded["prediction"], "tokens": tokens}
