"""The chain engine: many chains of one model over one prompt, computing what they share once.

It knows prompts, chains, hidden states and tokens; no dataset and no search. Its job is to not
compute what it has, nor compute alone what it can compute together:

* the hidden states (and, when decoding, keys and values) after every chain prefix are kept in a
  byte-bounded LRU cache keyed by (tokens generated so far, chain prefix) (:mod:`cola.prefix_cache`),
  so a chain that shares its first k steps and its text so far with a computed one starts at step k;
* chains asked for together run as *lanes* (:mod:`cola.lanes`): one batched layer call per
  distinct layer at each step;
* a prompt may be *packed* (several sequences in one row sharing a context, see
  :func:`packed_prompt`), so a shared context is computed once.

With ``reuse_prefixes=False`` it is the naive engine, the CoLa reference's way: every chain from
scratch, a full prefill and a greedy decode per chain. Both count their work in the same units.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from cola.chain import Chain
from cola.composer import ChainModel, StepInputs
from cola.generation import greedy_loop
from cola.lanes import Lane, RoundRunner
from cola.malloc import fix_mmap_threshold
from cola.prefix_cache import EngineStats, PrefixCache

Finished = Callable[[list[int]], bool]
"""Given one chain's tokens so far, whether its decoding is done."""


@dataclass(frozen=True)
class EngineConfig:
    reuse_prefixes: bool = True  # False: the naive engine (every chain from scratch)
    prefix_cache_mb: float = 2048.0  # bound on cached prefix states (LRU eviction)
    lookahead: int = 64  # most chains computed together when a caller knows what comes next
    lane_kv_mb: float = 384.0  # bound on the keys and values of chains decoding together
    fix_mmap_threshold: bool = True  # hand freed batches back to the system (see cola.malloc)

    def __post_init__(self):
        if self.lookahead < 1:
            raise ValueError(f"lookahead must be at least 1, got {self.lookahead}")
        for name in ("prefix_cache_mb", "lane_kv_mb"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class Prompt:
    """An embedded prompt and the positions, masks and rotary tables of every layer kind.

    Masks and rotary tables depend on positions only, never on the chain: built once per prompt.
    """

    input_ids: torch.Tensor  # (B, T), on the model's device
    hidden: torch.Tensor  # (B, T, H) embeddings, in the model's dtype
    inputs: StepInputs
    ideal_tokens: int  # the fewest tokens any engine must compute per layer for this prompt

    @property
    def tokens(self) -> int:
        """Tokens computed per layer, padding included."""
        return self.hidden.shape[0] * self.hidden.shape[1]


def plain_prompt(
    chain_model: ChainModel,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    *,
    ideal_tokens: int | None = None,
) -> Prompt:
    """Rows of tokens (left or right padded by ``attention_mask``)."""
    input_ids = input_ids.to(chain_model.device)
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    hidden = chain_model.embed(input_ids)
    inputs = chain_model.step_inputs(hidden, attention_mask=attention_mask.to(chain_model.device))
    return Prompt(input_ids, hidden, inputs, ideal_tokens or input_ids.shape[1])


def packed_prompt(
    chain_model: ChainModel, input_ids: torch.Tensor, position_ids: torch.Tensor, visible: torch.Tensor
) -> Prompt:
    """Several sequences in one row: each token at ``position_ids``, seeing what ``visible`` allows
    (see :meth:`ChainModel.packed_inputs`)."""
    device = chain_model.device
    input_ids = input_ids.to(device)
    hidden = chain_model.embed(input_ids)
    inputs = chain_model.packed_inputs(hidden, position_ids.to(device), visible.to(device))
    return Prompt(input_ids, hidden, inputs, input_ids.shape[1])


class ChainEngine:
    """Final hidden states and greedy decodes of chains over one :class:`Prompt`."""

    def __init__(self, chain_model: ChainModel, prompt: Prompt, config: EngineConfig = EngineConfig()):
        self.chain_model = chain_model
        self.prompt = prompt
        self.config = config
        self.stats = EngineStats(prompt_tokens=prompt.ideal_tokens)
        self.cache = PrefixCache(int(config.prefix_cache_mb * 2**20), self.stats)
        self.rounds = RoundRunner(chain_model, self.cache, self.stats)
        if config.reuse_prefixes and config.fix_mmap_threshold:
            fix_mmap_threshold()

    @torch.inference_mode()
    def final_states(self, chains: Sequence[Chain]) -> list[torch.Tensor]:
        """Each chain's final hidden states over the prompt, (B, T, H) each."""
        if not self.config.reuse_prefixes:
            return [self._run_naive(chain) for chain in chains]
        lanes = [Lane(chain, self.prompt.hidden) for chain in chains]
        return self.rounds.run(lanes, self.prompt.inputs, self.prompt.tokens)

    @torch.inference_mode()
    def decode(self, chains: Sequence[Chain], *, max_new_tokens: int, finished: Finished) -> list[list[int]]:
        """Greedy new tokens of each chain after the prompt (one row), until ``finished``."""
        if self.prompt.input_ids.shape[0] != 1:
            raise ValueError(f"decoding takes a one-row prompt, got {self.prompt.input_ids.shape[0]} rows")
        if not self.config.reuse_prefixes:
            return [self._decode_naive(chain, max_new_tokens, finished) for chain in chains]
        return self._decode_lanes(list(chains), max_new_tokens, finished)

    def note_requested(self, chain: Chain, tokens: Sequence[int] = ()) -> None:
        """Count ``chain``'s work items (prompt, then each token it was fed) toward the ideal."""
        self.stats.note_requested(chain, tokens)

    def _decode_lanes(self, chains: list[Chain], max_new_tokens: int, finished: Finished) -> list[list[int]]:
        decoded = []
        for group in self._lane_groups(chains, max_new_tokens):
            decoded += self._decode_group(group, max_new_tokens, finished)
        return decoded

    def _lane_groups(self, chains: list[Chain], max_new_tokens: int) -> list[list[Chain]]:
        """Consecutive groups of chains whose KV caches together fit ``lane_kv_mb`` (at least one
        chain each): every lane holds its own keys and values over the whole prompt, which on a
        long few-shot prompt outweighs everything else the engine keeps."""
        budget = self.config.lane_kv_mb * 2**20
        tokens = self.prompt.input_ids.shape[1] + max_new_tokens
        groups: list[list[Chain]] = [[]]
        used = 0
        for chain in chains:
            need = self.chain_model.kv_cache_bytes(len(chain), tokens)
            if groups[-1] and used + need > budget:
                groups.append([])
                used = 0
            groups[-1].append(chain)
            used += need
        return groups

    def _decode_group(self, chains: list[Chain], max_new_tokens: int, finished: Finished) -> list[list[int]]:
        prompt_length = self.prompt.input_ids.shape[1]
        lanes = [Lane(chain, self.prompt.hidden, cache=self.chain_model.new_cache(chain)) for chain in chains]
        first = self._last_logits(self.rounds.run(lanes, self.prompt.inputs, prompt_length))

        def advance(active: list[int], tokens: list[list[int]]) -> torch.Tensor:
            # A new token's states depend on the chain prefix and on every token so far: lanes
            # that share both share this step's work (a trie over chain x text).
            past = prompt_length + len(tokens[active[0]]) - 1
            embedded = self.chain_model.embed(self._ids([[tokens[i][-1]] for i in active]))
            mask = torch.ones(1, past + 1, dtype=torch.long, device=embedded.device)
            inputs = self.chain_model.step_inputs(embedded[:1], attention_mask=mask, past_length=past)
            for row, i in enumerate(active):
                lanes[i].hidden, lanes[i].context = embedded[row : row + 1], tuple(tokens[i])
            return self._last_logits(self.rounds.run([lanes[i] for i in active], inputs, 1))

        return greedy_loop(
            first, advance, max_new_tokens=max_new_tokens, finished=lambda _, tokens: finished(tokens)
        )

    def _decode_naive(self, chain: Chain, max_new_tokens: int, finished: Finished) -> list[int]:
        """A full prefill and greedy decode of ``chain`` from scratch, with its own KV cache."""
        cache = self.chain_model.new_cache(chain)
        hidden = self._run_naive(chain, cache)
        cache.seen_tokens = self.prompt.input_ids.shape[1]

        def advance(active: list[int], tokens: list[list[int]]) -> torch.Tensor:
            self._count_naive(chain, 1)
            mask = torch.ones(1, cache.seen_tokens + 1, dtype=torch.long, device=hidden.device)
            ids = self._ids([[tokens[0][-1]]])
            return self.chain_model.forward(ids, chain, attention_mask=mask, cache=cache, logits_to_keep=1)[
                :, -1
            ]

        first = self.chain_model.head(hidden, logits_to_keep=1)[:, -1]
        (tokens,) = greedy_loop(
            first, advance, max_new_tokens=max_new_tokens, finished=lambda _, tokens: finished(tokens)
        )
        return tokens

    def _run_naive(self, chain: Chain, cache=None) -> torch.Tensor:
        self._count_naive(chain, self.prompt.tokens)
        return self.chain_model.run_steps(self.prompt.hidden, chain, self.prompt.inputs, cache=cache)

    def _count_naive(self, chain: Chain, tokens: int) -> None:
        self.stats.layer_forwards += len(chain)
        self.stats.lane_steps += len(chain)
        self.stats.token_layer_forwards += len(chain) * tokens

    def _last_logits(self, finals: list[torch.Tensor]) -> torch.Tensor:
        return self.chain_model.head(torch.cat([hidden[:, -1] for hidden in finals]))

    def _ids(self, rows: list[list[int]]) -> torch.Tensor:
        return torch.tensor(rows, dtype=torch.long, device=self.chain_model.device)
