"""Chain sets scored over every question of a split, each chain's deciding choice scores kept, so
any target or measure reads them without another forward: one set per question that no target
steers (``run_unsteered``), and one fixed, named list for every question (``run_chain_list``:
pruning rules and their random removals).

Depth on a chain set no target steers: the reach control without a head start.

A faithful search starts on a rewarded chain (the full chain meets its own target at KL 0), while
its reach twin must first find any chain that meets its target, with an order built to disturb the
answer as little as possible; scoring an unreached target as the full depth then reads that head
start as need. Here every question gets one chain set that no reward chose (``search.chain_sets``:
the removal path in the prior's keep order and random removals of the same sizes), every chain's
deciding scores are recorded, and the depth each target needs is read from the same chains: the
full chain's own distribution (faithful) and the reach target (its two most likely choices
swapped), in :mod:`benchmarks.analysis.unsteered_depth`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from benchmarks.evaluator import ChainEvaluator
from benchmarks.machine import machine_state
from benchmarks.results import ResultsLog, claim_run_dir, file_sha256
from benchmarks.runs.search_record import deciding_scores, sample_rng
from benchmarks.tasks import TaskConfig, build_query, load_examples
from cola import Chain, ChainModel, format_chain, full_chain
from cola.engine import EngineConfig
from search.chain_sets import keep_order, random_removals, removal_path
from search.prior import load_keep_prior


@dataclass(frozen=True)
class UnsteeredRun:
    model: str
    prior_file: str
    seed: int = 0
    limit: int | None = None
    random_per_size: int = 1
    model_fingerprint: str | None = None


def chain_set(n_layers: int, run: UnsteeredRun, example_id: str) -> tuple[list[tuple], list[str]]:
    """The full chain, the removal path and the random removals, with each chain's kind."""
    path = removal_path(keep_order(load_keep_prior(run.prior_file, n_layers), n_layers), n_layers)
    random = random_removals(n_layers, sample_rng(run.seed, example_id), per_size=run.random_per_size)
    chains = [tuple(range(n_layers)), *path, *random]
    return chains, ["full"] + ["path"] * len(path) + ["random"] * len(random)


def question_record(evaluator: ChainEvaluator, run: UnsteeredRun, example_id: str) -> dict:
    n_layers = evaluator.chain_model.n_layers
    chains, kinds = chain_set(n_layers, run, example_id)
    evaluator.hint(chains, certain=len(chains), may_stop=False)
    full = evaluator.outcome(chains[0])
    return {
        "id": example_id,
        "model": run.model,
        "seed": run.seed,
        "n_layers": n_layers,
        "gold": evaluator.query.gold,
        "original_prediction": full["prediction"],
        "original_correct": bool(full["correct"]),
        "chains": [format_chain(chain) for chain in chains],
        "kinds": kinds,
        "lengths": [len(chain) for chain in chains],
        "scores": [deciding_scores(evaluator, chain) for chain in chains],
    }


def run_unsteered(
    chain_model: ChainModel,
    tokenizer,
    task: TaskConfig,
    run: UnsteeredRun,
    engine: EngineConfig,
    output_dir: str | Path,
    *,
    progress: bool = False,
) -> list[dict]:
    """Every question's chain set into ``output_dir/results.jsonl``, resuming what is there."""
    if task.mode != "loglikelihood":
        raise ValueError(
            f"unsteered depth reads choice scores: it needs a loglikelihood task, not {task.mode}"
        )
    output_dir = Path(output_dir)
    settings = {
        "task": asdict(task),
        "run": asdict(run),
        "prior_sha256": file_sha256(run.prior_file, "edit prior"),
    }
    claim_run_dir(output_dir, settings)
    log = ResultsLog(output_dir / "results.jsonl")
    todo = [example for example in load_examples(task, limit=run.limit) if example.id not in log]
    for example in tqdm(todo, disable=not progress, desc="unsteered"):
        evaluator = ChainEvaluator(chain_model, tokenizer, build_query(example, tokenizer, task), engine)
        machine, start = machine_state(), time.perf_counter()
        record = question_record(evaluator, run, example.id)
        log.append(record | {"seconds": round(time.perf_counter() - start, 3)} | machine)
    return log.records


def run_chain_list(
    chain_model: ChainModel,
    tokenizer,
    task: TaskConfig,
    chains: dict[str, Chain],
    output_dir: str | Path,
    *,
    limit: int | None = None,
    shard: tuple[int, int] = (0, 1),
    engine: EngineConfig | None = None,
    progress: bool = False,
) -> list[dict]:
    """Every question of this shard into ``output_dir/results.jsonl``; the full chain is always
    scored first (as ``full``), for agreement."""
    if task.mode != "loglikelihood":
        raise ValueError(f"a chain list reads choice scores: it needs a loglikelihood task, not {task.mode}")
    named = {"full": full_chain(chain_model.n_layers)} | {
        name: chain_model.check_chain(chain) for name, chain in chains.items()
    }
    output_dir = Path(output_dir)
    claim_run_dir(
        output_dir,
        {
            "task": asdict(task),
            "chains": {name: format_chain(c) for name, c in named.items()},
            "shard": list(shard),
        },
    )
    log = ResultsLog(output_dir / "results.jsonl")
    examples = load_examples(task, limit=limit)[shard[0] :: shard[1]]
    todo = [example for example in examples if example.id not in log]
    distinct = list(dict.fromkeys(named.values()))
    for example in tqdm(todo, disable=not progress, desc="chain list"):
        query = build_query(example, tokenizer, task)
        evaluator = ChainEvaluator(chain_model, tokenizer, query, engine or EngineConfig())
        machine, start = machine_state(), time.perf_counter()
        evaluator.hint(distinct, certain=len(distinct), may_stop=False)
        scores = {name: deciding_scores(evaluator, chain) for name, chain in named.items()}
        log.append(
            {
                "id": example.id,
                "benchmark": task.benchmark,
                "split": task.split,
                "gold": query.gold,
                "n_layers": chain_model.n_layers,
                "scores": scores,
                "seconds": round(time.perf_counter() - start, 3),
            }
            | machine
        )
    return log.records
