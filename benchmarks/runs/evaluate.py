"""Score a list of examples under one chain; write per-example records and a summary.

Records go to ``results.jsonl`` as they are produced (see :mod:`benchmarks.results`), so an
interrupted run resumes where it stopped; the summary is always recomputed from that file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from benchmarks.analysis.stats import median_p90, wilson_interval
from benchmarks.evaluator import answer_packed, answer_routed
from benchmarks.machine import machine_state, summarize_machine
from benchmarks.queries import GenerationQuery, LoglikelihoodQuery, Query, context_ids, query_fields
from benchmarks.results import ResultsLog, claim_run_dir, write_json
from benchmarks.runner import answer_choice, answer_generation
from benchmarks.runs.dola_scores import score_dola
from benchmarks.runs.ensemble_scores import score_ensemble
from benchmarks.tasks import TaskConfig, build_queries, load_examples
from cola import Chain, ChainModel, format_chain
from cola.block_router import BlockRouter
from cola.dola import DolaPolicy
from cola.policy import ChainEnsemble, ChainPolicy, ChoiceCalibration

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunInfo:
    """What every record and summary carries about the run."""

    model: str
    chain: Chain | None  # None: ``policy`` picks each question's chain
    seed: int = 0
    model_fingerprint: str | None = None  # of the weights (cola.chainfile.weights_fingerprint)
    policy: ChainPolicy | None = None
    policy_sha256: str | None = None  # of the policy file
    packed: bool = False  # multiple choice: the context once for all choices (faster; scores within rounding)

    def __post_init__(self):
        if (self.chain is None) == (self.policy is None):
            raise ValueError("evaluate one chain or one policy: give exactly one")

    def settings(self, task: TaskConfig) -> dict:
        """What decides an evaluation's records: its directory holds records of these only."""
        settings = {
            "model": self.model,
            "model_fingerprint": self.model_fingerprint,
            "task": asdict(task),
            "chain": self.chain_text,
            "seed": self.seed,
        }
        if self.policy is not None:
            settings["policy_sha256"] = self.policy_sha256
        return settings | ({"packed": True} if self.packed else {})  # row-form runs predate the key

    @property
    def chain_text(self) -> str:
        return format_chain(self.chain) if self.policy is None else f"policy:{self.policy.kind}"

    def rescored(self, query: Query, fields: dict) -> dict:
        """A choice calibration policy decides the answer from the full chain's scores; the raw
        prediction stays beside it."""
        if not isinstance(self.policy, ChoiceCalibration):
            return fields
        if not isinstance(query, LoglikelihoodQuery):
            raise ValueError("a choice calibration needs loglikelihood-mode multiple choice")
        tokens = [len(ids) for ids in query.continuation_ids]
        prediction = self.policy.predict(fields["scores"], query.choice_chars, tokens)
        return fields | {
            "prediction": prediction,
            "correct": prediction == query.gold,
            "prediction_uncalibrated": fields["prediction"],
        }

    def chooser(self, chain_model: ChainModel) -> Callable[[Query], Chain]:
        """The chain each query runs: the fixed one, or the policy's pick from its context."""
        if self.policy is None:
            return lambda query: self.chain
        return lambda query: self.policy.choose(chain_model, context_ids(query))


def _batches(queries: list[Query], size: int) -> Iterable[list[Query]]:
    for start in range(0, len(queries), size):
        yield queries[start : start + size]


def score_queries(
    chain_model: ChainModel,
    tokenizer,
    queries: list[Query],
    info: RunInfo,
    *,
    batch_size: int = 1,
) -> Iterable[tuple[Query, dict, Chain, float]]:
    """Yield (query, result fields, the chain it ran, seconds per query) for each query, in order,
    under ``info``'s chain or chain policy.

    The seconds include choosing the chain (a router's feature pass), since a policy pays for it.
    A block router on packed multiple choice chooses and answers in one pass (:func:`answer_routed`)."""
    generation = [query for query in queries if isinstance(query, GenerationQuery)]
    if generation and len(generation) != len(queries):
        raise ValueError("a run mixes generation and multiple-choice queries")
    choose = info.chooser(chain_model)
    router = info.policy if isinstance(info.policy, BlockRouter) else None
    for batch in _batches(queries, batch_size if generation else 1):
        start = time.perf_counter()
        if router is not None and info.packed and isinstance(batch[0], LoglikelihoodQuery):
            outcome, chain = answer_routed(chain_model, batch[0], router)
            yield batch[0], _choice_fields(outcome), chain, time.perf_counter() - start
            continue
        chains = [choose(query) for query in batch]
        if generation:
            results = _generate_by_chain(chain_model, tokenizer, batch, chains)
        else:
            answer = (
                answer_packed if info.packed and isinstance(batch[0], LoglikelihoodQuery) else answer_choice
            )
            results = [_choice_fields(answer(chain_model, batch[0], chains[0]))]
        seconds = (time.perf_counter() - start) / len(batch)
        for query, result, chain in zip(batch, results, chains, strict=True):
            yield query, result, chain, seconds


def _generate_by_chain(
    chain_model: ChainModel, tokenizer, batch: list[Query], chains: list[Chain]
) -> list[dict]:
    """Answers for a batch, generated together where queries run the same chain."""
    results: list[dict | None] = [None] * len(batch)
    for chain in dict.fromkeys(chains):
        members = [index for index, other in enumerate(chains) if other == chain]
        answers = answer_generation(chain_model, tokenizer, [batch[index] for index in members], chain)
        for index, answer in zip(members, answers, strict=True):
            results[index] = answer
    return results


def _choice_fields(outcome) -> dict:
    fields = {"prediction": outcome.prediction, "correct": outcome.correct, "scores": outcome.scores}
    if outcome.correct_norm is not None:
        fields |= {"prediction_norm": outcome.prediction_norm, "correct_norm": outcome.correct_norm}
    return fields


def make_record(
    query: Query,
    fields: dict,
    ran: Chain | tuple[Chain, ...],
    seconds: float,
    task: TaskConfig,
    info: RunInfo,
) -> dict:
    """One question's record; ``ran`` is the chain it ran, or an ensemble's chains (joined by +)."""
    chains = ran if ran and isinstance(ran[0], tuple) else (ran,)
    record = {
        "id": query.example_id,
        "model": info.model,
        "benchmark": task.benchmark,
        "split": task.split,
        "mode": task.mode,
        "seed": info.seed,
        "chain": "+".join(format_chain(chain) for chain in chains),
        "chain_length": sum(len(chain) for chain in chains),
        "prompt": query.prompt,
    }
    return record | query_fields(query) | fields | {"seconds": round(seconds, 4)} | machine_state()


def summarize(records: list[dict], task: TaskConfig, info: RunInfo, *, wall_seconds: float) -> dict:
    count, correct = len(records), sum(r["correct"] for r in records)
    summary = {
        "model": info.model,
        "benchmark": task.benchmark,
        "split": task.split,
        "mode": task.mode,
        "chat": task.chat,
        "chain": info.chain_text,
        "chain_length": _mean_length(records, info),
        "seed": info.seed,
        "n": count,
        "accuracy": correct / count if count else None,
        "accuracy_ci95": wilson_interval(correct, count),
        "seconds_per_question": sum(r["seconds"] for r in records) / count if count else None,
        "seconds_median_p90": median_p90([r["seconds"] for r in records]),
        "wall_seconds": round(wall_seconds, 2),
        "machine": summarize_machine(records),
        "task": asdict(task),
    }
    if records and "correct_norm" in records[0]:
        correct_norm = sum(r["correct_norm"] for r in records)
        summary["accuracy_norm"] = correct_norm / count
        summary["accuracy_norm_ci95"] = wilson_interval(correct_norm, count)
    if records and "exact_match" in records[0]:
        summary["exact_match"] = sum(r["exact_match"] for r in records) / count
    return summary


def _mean_length(records: list[dict], info: RunInfo) -> float | None:
    """Mean steps run per question (records written before lengths were kept ran ``info.chain``)."""
    lengths = [record.get("chain_length", len(info.chain or ())) for record in records]
    return sum(lengths) / len(lengths) if lengths else None


def evaluate(
    chain_model: ChainModel,
    tokenizer,
    task: TaskConfig,
    info: RunInfo,
    output_dir: str | Path,
    *,
    limit: int | None = None,
    batch_size: int = 1,
    progress: bool = False,
) -> dict:
    """Evaluate ``task`` under ``info.chain`` into ``output_dir``; resumes a partial run there."""
    start = time.perf_counter()
    output_dir = Path(output_dir)
    claim_run_dir(output_dir, info.settings(task))
    log = ResultsLog(output_dir / "results.jsonl")
    examples = load_examples(task, limit=limit)
    todo = [example for example in examples if example.id not in log]
    if len(todo) < len(examples):
        logger.info("resuming: %d of %d examples already done", len(examples) - len(todo), len(examples))
    queries = build_queries(todo, tokenizer, task)
    if isinstance(info.policy, ChainEnsemble):
        scored = score_ensemble(chain_model, tokenizer, queries, info.policy)
    elif isinstance(info.policy, DolaPolicy):
        scored = score_dola(chain_model, tokenizer, queries, info.policy)
    else:
        scored = score_queries(chain_model, tokenizer, queries, info, batch_size=batch_size)
    for query, fields, chain, seconds in tqdm(
        scored, total=len(queries), disable=not progress, desc=task.benchmark
    ):
        log.append(make_record(query, info.rescored(query, fields), chain, seconds, task, info))
    wanted = {example.id for example in examples}
    records = [record for record in log.records if record["id"] in wanted]
    summary = summarize(records, task, info, wall_seconds=time.perf_counter() - start)
    write_json(output_dir / "summary.json", summary)
    return summary
