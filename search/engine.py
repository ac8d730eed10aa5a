"""The adapter from search to the model: ``chain -> reward`` for one benchmark query.

This is the only module of ``search`` that imports ``benchmarks``; with :mod:`search.lanes` and
:mod:`search.prefix_cache` it is all of ``search`` that imports torch. Its job is to not compute
what it has, nor compute alone what it can compute together:

* the hidden states (and, when generating, keys and values) after every chain prefix are kept in
  a byte-bounded LRU cache keyed by (tokens generated so far, chain prefix), so a chain that
  shares its first k steps and its text so far with an evaluated one starts at step k;
* multiple-choice contexts are computed once for all choices (:class:`PackedChoices`);
* chains the search announces (``hint``: MCTS's untried children, in the order it will try them)
  are decoded up to ``lookahead`` at a time, batching the layers they run at the same step;
* decoding stops once the graded answer cannot change.

With ``reuse_prefixes=False`` it is the naive evaluator, the CoLa reference's way: every chain
from scratch, one row per choice, a full prefill and greedy decode per chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from benchmarks.queries import ChoiceOutcome, GenerationQuery, LoglikelihoodQuery, Query
from benchmarks.runner import stop_rule_for
from cola import Chain, ChainModel
from cola.generation import greedy_decode
from search.lanes import Lane, RoundRunner
from search.prefix_cache import EngineStats, PrefixCache


@dataclass(frozen=True)
class HintedList:
    chains: list[Chain]
    certain: int
    may_stop: bool


@dataclass(frozen=True)
class EngineConfig:
    reuse_prefixes: bool = True
    prefix_cache_mb: float = 2048.0
    lookahead: int = 64  # most chains decoded together when the search hints what comes next


class ChainEvaluator:
    """``chain -> 1.0 / 0.0`` (correct or not) for one query."""

    def __init__(
        self, chain_model: ChainModel, tokenizer, query: Query, config: EngineConfig = EngineConfig()
    ):
        if config.lookahead < 1:
            raise ValueError(f"lookahead must be at least 1, got {config.lookahead}")
        self.chain_model = chain_model
        self.tokenizer = tokenizer
        self.query = query
        self.config = config
        self.stats = EngineStats()
        self.cache = PrefixCache(int(config.prefix_cache_mb * 2**20), self.stats)
        self.rounds = RoundRunner(chain_model, self.cache, self.stats)
        self.generation = isinstance(query, GenerationQuery)
        self.outcomes: dict[Chain, dict] = {}  # every chain computed, asked for or ahead of time
        self.details: dict[Chain, dict] = {}  # the chains asked for
        self._hinted: dict[Chain, HintedList] = {}
        with torch.inference_mode():
            # Masks and rotary tables depend on positions only, never on the chain: build them once.
            if config.reuse_prefixes and isinstance(query, LoglikelihoodQuery):
                packed = query.packed
                self.prompt = chain_model.embed(packed.input_ids)
                self.inputs = chain_model.packed_inputs(self.prompt, packed.position_ids, packed.visible)
            else:
                # Generation extends the mask token by token, so it needs a concrete one.
                mask = torch.ones_like(query.input_ids) if self.generation else query.attention_mask
                self.prompt = chain_model.embed(query.input_ids)
                self.inputs = chain_model.step_inputs(self.prompt, attention_mask=mask)
        self.prompt_tokens = self.prompt.shape[0] * self.prompt.shape[1]  # per layer, padding included
        # The least any evaluator must compute on the prompt per layer: the packed form's tokens.
        minimal = query.packed.input_ids if isinstance(query, LoglikelihoodQuery) else query.input_ids
        self.ideal_prompt_tokens = minimal.shape[1]

    def hint(self, chains: Sequence[Chain], *, certain: int = 1, may_stop: bool = True) -> None:
        """The search will likely ask for ``chains``, in this order, and surely for the first
        ``certain`` of them unless it stops early (``may_stop``): compute them together."""
        hinted = HintedList([tuple(chain) for chain in chains], certain, may_stop)
        for chain in hinted.chains:
            self._hinted.setdefault(chain, hinted)

    def __call__(self, chain: Chain) -> float:
        chain = self.chain_model.check_chain(chain)
        if chain not in self.outcomes:
            with torch.inference_mode():
                self._evaluate(self._batch_for(chain))
        outcome = self.details[chain] = self.outcomes[chain]
        self.stats.speculative = len(self.outcomes) - len(self.details)
        generated = outcome.get("tokens", [])
        contexts = [()] + [tuple(generated[:i]) for i in range(1, len(generated))]
        self.stats.note_work(chain, contexts, self.ideal_prompt_tokens)
        return 1.0 if outcome["correct"] else 0.0

    def _batch_for(self, chain: Chain) -> list[Chain]:
        if not (self.config.reuse_prefixes and chain in self._hinted):
            return [chain]
        hinted = self._hinted[chain]
        position = hinted.chains.index(chain)
        # Compute ahead as far as the search said it surely goes. Decoding goes further: one token
        # for many chains costs about what one token for one chain does (reading the layer's
        # weights dominates), so it also computes as many chains as the search already asked for
        # from this list (1, 2, 4, ...), wasting at most about half the work on an abandoned list.
        # A prompt's layers are bound by arithmetic; only the LM head gains there (see
        # ``score_packed_many``), not enough to pay for chains an early stop may leave unasked.
        reach = max(hinted.certain - position - 1, 0)
        if self.generation:
            reach = max(reach, sum(other in self.details for other in hinted.chains))
        elif hinted.may_stop:
            reach = 0
        ahead = [other for other in hinted.chains[position + 1 :] if other not in self.outcomes]
        return [chain, *ahead[: min(self.config.lookahead - 1, reach)]]

    def _evaluate(self, chains: list[Chain]) -> None:
        if not self.config.reuse_prefixes:
            (chain,) = chains
            self.outcomes[chain] = (
                self._generate_naive(chain) if self.generation else self._choose_naive(chain)
            )
        elif self.generation:
            self.outcomes.update(zip(chains, self._generate(chains), strict=True))
        else:
            lanes = [Lane(chain, self.prompt) for chain in chains]
            finals = self.rounds.run(lanes, self.inputs, self.prompt_tokens)
            if isinstance(self.query, LoglikelihoodQuery):
                outcomes = self.query.score_packed_many(finals, self.chain_model.head)
            else:
                outcomes = [self.query.score(hidden, self.chain_model.head) for hidden in finals]
            for chain, outcome in zip(chains, outcomes, strict=True):
                self.outcomes[chain] = _choice_details(outcome)

    def _generate(self, chains: list[Chain]) -> list[dict]:
        """Greedy decoding of every chain in one set of rounds: prompt, then a token at a time."""
        query: GenerationQuery = self.query
        prompt_length = query.input_ids.shape[1]
        lanes = [Lane(chain, self.prompt, cache=self.chain_model.new_cache(chain)) for chain in chains]
        finals = self.rounds.run(lanes, self.inputs, prompt_length)
        tokens: list[list[int]] = [[] for _ in chains]
        active = list(range(len(chains)))
        stop = stop_rule_for(self.tokenizer, query.stop_strings)
        for index in range(query.max_new_tokens):
            if index:
                # The new token's states depend on the chain prefix and on every token so far:
                # lanes that share both share this step's work (a trie over chain x text).
                past = prompt_length + index - 1
                embedded = self.chain_model.embed(torch.tensor([[tokens[i][-1]] for i in active]))
                mask = torch.ones(1, past + 1, dtype=torch.long)
                inputs = self.chain_model.step_inputs(embedded[:1], attention_mask=mask, past_length=past)
                for row, i in enumerate(active):
                    lanes[i].hidden, lanes[i].context = embedded[row : row + 1], tuple(tokens[i])
                finals = self.rounds.run([lanes[i] for i in active], inputs, 1)
            logits = self.chain_model.head(torch.cat([hidden[:, -1] for hidden in finals]))
            for i, token in zip(active, logits.argmax(-1).tolist(), strict=True):
                tokens[i].append(token)
            active = [i for i in active if not self._finished(tokens[i], stop)]
            if not active:
                break
        return [self._graded(generated) for generated in tokens]

    def _finished(self, tokens: list[int], stop) -> bool:
        if tokens[-1] == self.tokenizer.eos_token_id or bool(stop(torch.tensor([tokens]))[0]):
            return True
        # Unlike the naive (reference) decoding, stop once the graded answer cannot change.
        return self.query.answer_settled(self.tokenizer.decode(tokens, skip_special_tokens=True))

    def _choose_naive(self, chain: Chain) -> dict:
        hidden = self.chain_model.run_steps(self.prompt, chain, self.inputs)
        self._count_naive(chain, self.prompt_tokens)
        return _choice_details(self.query.score(hidden, self.chain_model.head))

    def _generate_naive(self, chain: Chain) -> dict:
        """The reference way: a full prefill and greedy decode of the chain from scratch."""
        query: GenerationQuery = self.query
        cache = self.chain_model.new_cache(chain)
        hidden = self.chain_model.run_steps(self.prompt, chain, self.inputs, cache=cache)
        cache.seen_tokens = query.input_ids.shape[1]
        tokens = greedy_decode(
            self.chain_model,
            cache,
            self.chain_model.head(hidden, logits_to_keep=1)[:, -1],
            torch.ones_like(query.input_ids),
            max_new_tokens=query.max_new_tokens,
            eos_token_id=self.tokenizer.eos_token_id,
            stop_rule=stop_rule_for(self.tokenizer, query.stop_strings),
        )
        self._count_naive(chain, self.prompt_tokens)
        for _ in range(tokens.shape[1] - 1):
            self._count_naive(chain, 1)
        return self._graded(tokens[0].tolist())

    def _count_naive(self, chain: Chain, tokens: int) -> None:
        self.stats.layer_forwards += len(chain)
        self.stats.lane_steps += len(chain)
        self.stats.token_layer_forwards += len(chain) * tokens

    def _graded(self, tokens: list[int]) -> dict:
        graded = self.query.grade(self.tokenizer.decode(tokens, skip_special_tokens=True))
        return {"correct": graded["correct"], "prediction": graded["prediction"], "tokens": tokens}


def _choice_details(outcome: ChoiceOutcome) -> dict:
    return {"correct": outcome.correct, "prediction": outcome.prediction}
