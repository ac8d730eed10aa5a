"""What one question's search record holds: the run's identity, each question's seeded streams,
the placebo's draw, and the fields a search, its chains and the full chain's ranking write."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from benchmarks.datasets import Example
from benchmarks.evaluator import ChainEvaluator, decisive_scores
from benchmarks.queries import GenerationQuery, LetterQuery, Query, query_fields
from benchmarks.tasks import TaskConfig
from cola import format_chain
from search import SearchResult
from search.guesses import choice_ranks


@dataclass(frozen=True)
class SearchRun:
    model: str
    seed: int = 0
    limit: int | None = None
    shard_index: int = 0
    shard_count: int = 1
    model_fingerprint: str | None = None  # of the weights (cola.chainfile.weights_fingerprint)

    def __post_init__(self):
        if not 0 <= self.shard_index < self.shard_count:
            raise ValueError(
                f"shard_index {self.shard_index} out of range for shard_count {self.shard_count}"
            )


def sample_rng(seed: int, example_id: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(example_id.encode())])


def shard_of(examples: list[Example], run: SearchRun) -> list[Example]:
    return examples[run.shard_index :: run.shard_count]


def placebo_rng(seed: int, example_id: str) -> np.random.Generator:
    """The placebo draw's own stream, so that drawing it leaves the searches' streams untouched."""
    return np.random.default_rng([seed, zlib.crc32(example_id.encode()), 1])


def draw_placebo(gold: int, prediction: int, n_choices: int, rng: np.random.Generator) -> int | None:
    """A choice that is neither the gold answer nor the full chain's prediction; None if none is left."""
    options = [choice for choice in range(n_choices) if choice not in (gold, prediction)]
    return int(options[rng.integers(len(options))]) if options else None


def n_choices(query: Query) -> int:
    return len(query.candidate_ids) if isinstance(query, LetterQuery) else len(query.continuation_ids)


def search_fields(result: SearchResult, prefix: str = "") -> dict:
    """What a record keeps of one search: correct chains, the best, and how soon the first came."""
    best = result.best_chain
    return {
        f"{prefix}correct_chains": [format_chain(chain) for chain in result.correct_chains],
        f"{prefix}best_chain": format_chain(best) if best else None,
        f"{prefix}best_length": len(best) if best else None,
        f"{prefix}first_correct_evaluation": result.first_correct_evaluation,
    }


def chain_search_fields(result: SearchResult, evaluator: ChainEvaluator) -> dict:
    """A chain search's record fields: its chains, and the prediction of every chain it evaluated."""
    best = result.best_chain
    return {
        **search_fields(result),
        "best_distinct_layers": len(set(best)) if best else None,
        "n_evaluated": len(result.rewards),
        "iterations": result.iterations,
        "stopped_early": result.stopped_early,
        "predictions": [evaluator.details[chain]["prediction"] for chain in result.rewards],
    }


def ranking_fields(query: Query, full_outcome: dict, placebo: int | None) -> dict:
    """The full chain's ranking of the choices: its scores in the task's metric (the ones that
    decide its answer), gold's rank and the placebo's (0 = its answer, 1 = the runner-up)."""
    if isinstance(query, GenerationQuery):
        return {}
    scores = decisive_scores(full_outcome)
    ranks = choice_ranks(scores)
    return {
        "full_scores": [round(float(score), 5) for score in scores],
        "gold_rank": ranks[query.gold],
        "placebo_rank": ranks[placebo] if placebo is not None else None,
    }


def search_record(
    query: Query,
    evaluator: ChainEvaluator,
    task: TaskConfig,
    run: SearchRun,
    search_name: str,
    fields: dict,
    seconds: float,
) -> dict:
    full = evaluator.details[tuple(range(evaluator.chain_model.n_layers))]
    return {
        "id": query.example_id,
        "model": run.model,
        "benchmark": task.benchmark,
        "split": task.split,
        "mode": task.mode,
        "search": search_name,
        "seed": run.seed,
        "prompt": query.prompt,
        **query_fields(query),
        "n_layers": evaluator.chain_model.n_layers,
        "original_correct": bool(full["correct"]),
        "original_prediction": full["prediction"],
        **fields,
        **evaluator.stats.as_dict(),
        "seconds": round(seconds, 3),
    }


def deciding_scores(evaluator: ChainEvaluator, chain) -> list[float]:
    """The scores that decide ``chain``'s answer (per character for acc_norm), as recorded."""
    return [round(float(score), 5) for score in decisive_scores(evaluator.outcome(chain))]
