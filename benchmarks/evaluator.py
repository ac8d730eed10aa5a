"""The adapter from a benchmark query and a chain to a graded outcome: the search's evaluator.

``ChainEvaluator(chain_model, tokenizer, query)`` is ``chain -> 1.0 / 0.0`` (correct or not; a
dense ``reward="margin"`` for multiple choice, see :func:`shaped_reward`) on
``cola``'s chain engine (:mod:`cola.engine`), plus the search's ``hint`` of what it will ask for
next, so that chains certain to come are computed together. It chooses the prompt's form (a
multiple-choice context packed once for all choices), scores or decodes, and grades; every
outcome keeps its prediction, so one evaluator can serve any target answer.

With ``EngineConfig(reuse_prefixes=False)`` it is the naive evaluator, the CoLa reference's way:
every chain from scratch, one padded row per choice, a full prefill and greedy decode per chain.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from benchmarks.queries import GenerationQuery, LoglikelihoodQuery, Query
from benchmarks.runner import stop_rule_for
from cola import Chain, ChainModel
from cola.block_router import BlockRouter, walk_prompt
from cola.engine import ChainEngine, EngineConfig, Prompt, packed_prompt, plain_prompt
from cola.prefix_cache import EngineStats, PrefixCache


@dataclass(frozen=True)
class HintedList:
    chains: list[Chain]
    certain: int
    may_stop: bool


def query_prompt(chain_model: ChainModel, query: Query, *, packed: bool) -> Prompt:
    """The prompt of ``query`` for the engine: a loglikelihood query's context once for all
    choices when ``packed``, else its rows as the reference feeds them."""
    if isinstance(query, LoglikelihoodQuery):
        form = query.packed
        if packed:
            return packed_prompt(chain_model, form.input_ids, form.position_ids, form.visible)
        return plain_prompt(
            chain_model, query.input_ids, query.attention_mask, ideal_tokens=form.input_ids.shape[1]
        )
    return plain_prompt(chain_model, query.input_ids, query.attention_mask)


@torch.inference_mode()
def answer_packed(chain_model: ChainModel, query: LoglikelihoodQuery, chain: Chain):
    """``query``'s choice outcome under ``chain`` with the context computed once for all choices
    (the engine's packed form, as searches score): the row form's outcome, within float rounding."""
    engine = ChainEngine(chain_model, query_prompt(chain_model, query, packed=True), EngineConfig())
    return query.score_packed_many(engine.final_states([chain]), chain_model.head)[0]


@torch.inference_mode()
def answer_routed(chain_model: ChainModel, query: LoglikelihoodQuery, router: BlockRouter):
    """(outcome, chain) of ``router`` on ``query`` in one packed pass: the walk that chooses the
    chain runs it over the context and the choices together, so choosing costs the MLPs only."""
    prompt = query_prompt(chain_model, query, packed=True)
    context_tokens = query.context_lengths[0]
    walk = walk_prompt(
        chain_model, prompt.hidden, prompt.inputs, router.blocks, router.decide, context_tokens=context_tokens
    )
    chain = router.chain_from(walk.decisions, chain_model.n_layers)
    # A walk that ran no layer leaves the embeddings: the full-chain fallback runs on the same prompt.
    final = walk.final if any(walk.decisions) else chain_model.run_steps(prompt.hidden, chain, prompt.inputs)
    return query.score_packed_many([final], chain_model.head)[0], chain


def decisive_scores(outcome: dict) -> list[float]:
    """The choice scores that decide a multiple-choice outcome's answer (per character for acc_norm)."""
    return outcome.get("decisive_scores", outcome["scores"])


def shaped_reward(correct: bool, outcome: dict, target: int, shape: str) -> float:
    """``binary``: 1.0 / 0.0. ``margin``: (correct + sigmoid(m)) / 2 with m the target choice's
    score minus the best other choice's (the scores that decide the prediction), so a near miss
    outranks a rout and the reward is above 0.5 exactly when the target is picked."""
    if shape == "binary":
        return 1.0 if correct else 0.0
    scores = decisive_scores(outcome)
    margin = scores[target] - max(score for index, score in enumerate(scores) if index != target)
    return (float(correct) + 1.0 / (1.0 + math.exp(-max(min(margin, 50.0), -50.0)))) / 2


class ChainEvaluator:
    """``chain -> reward`` for one query: 1.0 / 0.0 (correct or not), or the dense ``margin``."""

    def __init__(
        self,
        chain_model: ChainModel,
        tokenizer,
        query: Query,
        config: EngineConfig | None = None,
        *,
        reward: str = "binary",
    ):
        self.chain_model = chain_model
        self.tokenizer = tokenizer
        self.query = query
        self.config = config = config or EngineConfig()
        self.generation = isinstance(query, GenerationQuery)
        if reward == "margin" and self.generation:
            raise ValueError(
                "reward=margin needs a multiple-choice benchmark (choice scores); use reward=binary"
            )
        self.reward = reward
        with torch.inference_mode():
            prompt = query_prompt(chain_model, query, packed=config.reuse_prefixes)
        self.engine = ChainEngine(chain_model, prompt, config)
        self.outcomes: dict[Chain, dict] = {}  # every chain computed, asked for or ahead of time
        self.details: dict[Chain, dict] = {}  # the chains asked for
        self._hinted: dict[Chain, HintedList] = {}
        if self.generation:
            self._stop = stop_rule_for(tokenizer, query.stop_strings)
        self._followed: tuple[list[int], int] | None = None  # see follow()

    @property
    def stats(self) -> EngineStats:
        return self.engine.stats

    @property
    def cache(self) -> PrefixCache:
        return self.engine.cache

    def hint(self, chains: Sequence[Chain], *, certain: int = 1, may_stop: bool = True) -> None:
        """The search will likely ask for ``chains``, in this order, and surely for the first
        ``certain`` of them unless it stops early (``may_stop``): compute them together."""
        hinted = HintedList([tuple(chain) for chain in chains], certain, may_stop)
        for chain in hinted.chains:
            self._hinted.setdefault(chain, hinted)

    def __call__(self, chain: Chain) -> float:
        outcome = self.outcome(chain)
        return shaped_reward(outcome["correct"], outcome, getattr(self.query, "gold", None), self.reward)

    def outcome(self, chain: Chain) -> dict:
        """``chain``'s graded outcome: ``correct``, ``prediction`` (and ``tokens`` when generating)."""
        chain = self.chain_model.check_chain(chain)
        if chain not in self.outcomes:
            self._evaluate(self._batch_for(chain))
        if chain not in self.details:
            self.details[chain] = self.outcomes[chain]
            self.engine.note_requested(chain, self.details[chain].get("tokens", ()))
        self.stats.speculative = len(self.outcomes) - len(self.details)
        return self.details[chain]

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
        if self.generation:
            finished = self._finished if self.config.reuse_prefixes else self._stopped
            decoded = self.engine.decode(chains, max_new_tokens=self.query.max_new_tokens, finished=finished)
            outcomes = [self._graded(tokens) for tokens in decoded]
        else:
            with torch.inference_mode():
                outcomes = self._scored(self.engine.final_states(chains))
        self.outcomes.update(zip(chains, outcomes, strict=True))

    def _scored(self, finals: list[torch.Tensor]) -> list[dict]:
        head = self.chain_model.head
        if self.config.reuse_prefixes and isinstance(self.query, LoglikelihoodQuery):
            scored = self.query.score_packed_many(finals, head)
        else:
            scored = [self.query.score(hidden, head) for hidden in finals]
        return [self._choice_outcome(outcome) for outcome in scored]

    def _choice_outcome(self, outcome) -> dict:
        fields = {"correct": outcome.correct, "prediction": outcome.prediction, "scores": outcome.scores}
        if getattr(self.query, "metric", "acc") == "acc_norm":  # the normalized scores decide
            chars = self.query.choice_chars
            fields["prediction"] = outcome.prediction_norm
            fields["decisive_scores"] = [score / n for score, n in zip(outcome.scores, chars, strict=True)]
        return fields

    def follow(self, reference: list[int], limit: int) -> None:
        """From now on, stop decoding a chain at its first token that differs from ``reference``
        or after ``limit`` tokens: all a faithfulness check needs (its text is then cut there)."""
        self._followed = (list(reference), limit)

    def _diverged(self, tokens: list[int]) -> bool:
        if self._followed is None:
            return False
        reference, limit = self._followed
        position = len(tokens) - 1
        return len(tokens) >= limit or position >= len(reference) or tokens[position] != reference[position]

    def _stopped(self, tokens: list[int]) -> bool:
        """End of text or a stop string: where the reference's decoding stops."""
        return tokens[-1] == self.tokenizer.eos_token_id or bool(self._stop(torch.tensor([tokens]))[0])

    def stops_at(self, tokens: list[int]) -> bool:
        """Whether decoding stops after ``tokens`` (end of text, a stop string, a settled answer)."""
        return self._finished(tokens)

    def _finished(self, tokens: list[int]) -> bool:
        # Unlike the reference, also stop once the graded answer cannot change.
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        return self._stopped(tokens) or self.query.answer_settled(text) or self._diverged(tokens)

    def _graded(self, tokens: list[int]) -> dict:
        graded = self.query.grade(self.tokenizer.decode(tokens, skip_special_tokens=True))
        return {"correct": graded["correct"], "prediction": graded["prediction"], "tokens": tokens}


class TargetEvaluator:
    """The same evaluator aimed at another answer: its reward (same shape) for choice ``target``.

    The placebo twin of a search uses it with a wrong choice as ``target``; it shares the gold
    evaluator's outcomes, so it computes only the chains the gold search did not.
    """

    def __init__(self, evaluator: ChainEvaluator, target: int):
        self.evaluator = evaluator
        self.target = target

    def hint(self, chains: Sequence[Chain], *, certain: int = 1, may_stop: bool = True) -> None:
        self.evaluator.hint(chains, certain=certain, may_stop=may_stop)

    def __call__(self, chain: Chain) -> float:
        outcome = self.evaluator.outcome(chain)
        return shaped_reward(
            outcome["prediction"] == self.target, outcome, self.target, self.evaluator.reward
        )
