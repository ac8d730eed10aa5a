"""Search chains for every sample of a benchmark and write one record per sample (resumable).

Every requested sample is searched and reported: none is resampled or filtered out. Samples can
be split into shards (``shard_index`` of ``shard_count``) that run as separate processes; each
sample's random generator is seeded from (seed, sample id), so results do not depend on sharding
or on where an interrupted run resumed.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks.datasets import Example, load_benchmark
from benchmarks.evaluator import ChainEvaluator
from benchmarks.experiments.search_report import summarize_search
from benchmarks.queries import Query, query_fields
from benchmarks.results import ResultsLog, write_json
from benchmarks.tasks import TaskConfig, build_query, load_examples
from cola import ChainModel, format_chain
from cola.engine import EngineConfig
from search import CORRECT, SearchConfig, SearchResult, search_function


@dataclass(frozen=True)
class SearchRun:
    model: str
    algorithm: str = "mcts"
    seed: int = 0
    limit: int | None = None
    shard_index: int = 0
    shard_count: int = 1

    def __post_init__(self):
        search_function(self.algorithm)  # fail fast on an unknown name
        if not 0 <= self.shard_index < self.shard_count:
            raise ValueError(
                f"shard_index {self.shard_index} out of range for shard_count {self.shard_count}"
            )


def sample_rng(seed: int, example_id: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(example_id.encode())])


def shard_of(examples: list[Example], run: SearchRun) -> list[Example]:
    return examples[run.shard_index :: run.shard_count]


def search_record(
    query: Query,
    result: SearchResult,
    evaluator: ChainEvaluator,
    task: TaskConfig,
    run: SearchRun,
    seconds: float,
) -> dict:
    best = result.best_chain
    full = tuple(range(result.n_layers))
    return {
        "id": query.example_id,
        "model": run.model,
        "benchmark": task.benchmark,
        "split": task.split,
        "mode": task.mode,
        "search": run.algorithm,
        "seed": run.seed,
        "prompt": query.prompt,
        **query_fields(query),
        "n_layers": result.n_layers,
        "original_correct": result.original_reward > CORRECT,
        "original_prediction": evaluator.details[full]["prediction"],
        "correct_chains": [format_chain(chain) for chain in result.correct_chains],
        "best_chain": format_chain(best) if best else None,
        "best_length": len(best) if best else None,
        "best_distinct_layers": len(set(best)) if best else None,
        "n_evaluated": len(result.rewards),
        "iterations": result.iterations,
        "stopped_early": result.stopped_early,
        **evaluator.stats.as_dict(),
        "seconds": round(seconds, 3),
    }


def run_search(
    chain_model: ChainModel,
    tokenizer,
    task: TaskConfig,
    run: SearchRun,
    search_config: SearchConfig,
    engine_config: EngineConfig,
    output_dir: str | Path,
    *,
    progress: bool = False,
) -> dict:
    """Search every sample of this shard into ``output_dir``; resume whatever is already there."""
    output_dir = Path(output_dir)
    log = ResultsLog(output_dir / "results.jsonl")
    samples = shard_of(load_examples(task, limit=run.limit), run)
    shots = load_benchmark(task.benchmark, split="train", limit=task.n_shots) if task.n_shots else []
    search = search_function(run.algorithm)
    todo = [example for example in samples if example.id not in log]
    for example in tqdm(todo, disable=not progress, desc=f"{run.algorithm} {task.benchmark}"):
        query = build_query(example, tokenizer, task, shots=shots)
        evaluator = ChainEvaluator(chain_model, tokenizer, query, engine_config)
        start = time.perf_counter()
        result = search(evaluator, chain_model.n_layers, search_config, sample_rng(run.seed, example.id))
        log.append(search_record(query, result, evaluator, task, run, time.perf_counter() - start))
    wanted = {example.id for example in samples}
    records = [record for record in log.records if record["id"] in wanted]
    summary = summarize_search(records) | {
        "run": asdict(run),
        "task": asdict(task),
        "search_config": asdict(search_config),
        "engine": asdict(engine_config),
    }
    write_json(output_dir / "summary.json", summary)
    return summary
