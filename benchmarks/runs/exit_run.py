"""Every exit's choice scores for every question of a split, in one pass per question (resumable).

A record holds, for each exit kept (0 = the embedding output, k = after layer k of the full chain,
``n_layers`` = the model's own answer), each choice's summed log-probability, and what a choice is
regardless of the model (its characters, its tokens): what DoLa, exit ensembles and the exit
calibration read without another forward. Questions are split into shards as search runs are.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from benchmarks.machine import machine_state
from benchmarks.queries import ChoiceOutcome, LoglikelihoodQuery
from benchmarks.results import ResultsLog, claim_run_dir
from benchmarks.tasks import TaskConfig, build_query, load_examples
from cola import ChainModel, full_chain
from cola.exits import check_exits, run_with_exits

HEAD_CHUNK = 8  # exits per LM-head call: Gemma's 262k-token head on every exit at once holds ~1 GB


@dataclass(frozen=True)
class ExitRun:
    model: str
    exits: tuple[int, ...] | None = None  # None: every exit, 0..n_layers
    limit: int | None = None
    shard_index: int = 0
    shard_count: int = 1
    model_fingerprint: str | None = None

    def __post_init__(self):
        if not 0 <= self.shard_index < self.shard_count:
            raise ValueError(
                f"shard_index {self.shard_index} out of range for shard_count {self.shard_count}"
            )


@torch.inference_mode()
def choice_exits(
    chain_model: ChainModel, query: LoglikelihoodQuery, exits: list[int] | None = None
) -> dict[int, ChoiceOutcome]:
    """The full chain's choice outcome at each exit, from one packed pass over the question."""
    packed, chain = query.packed, full_chain(chain_model.n_layers)
    hidden = chain_model.embed(packed.input_ids)
    inputs = chain_model.packed_inputs(hidden, packed.position_ids, packed.visible)
    found = run_with_exits(chain_model, hidden, chain, inputs, exits, keep=(0, packed.scored))
    order = sorted(found)
    outcomes = {}
    for start in range(0, len(order), HEAD_CHUNK):
        part = order[start : start + HEAD_CHUNK]
        scored = query.score_rows_many([found[k] for k in part], chain_model.head)
        outcomes |= dict(zip(part, scored, strict=True))
    return outcomes


def exit_record(query: LoglikelihoodQuery, outcomes: dict[int, ChoiceOutcome], n_layers: int) -> dict:
    return {
        "id": query.example_id,
        "gold": query.gold,
        "n_layers": n_layers,
        "choice_chars": list(query.choice_chars),
        "choice_tokens": [len(continuation) for continuation in query.continuation_ids],
        "exits": sorted(outcomes),
        "exit_scores": [[round(float(x), 5) for x in outcomes[k].scores] for k in sorted(outcomes)],
    }


def run_exits(
    chain_model: ChainModel,
    tokenizer,
    task: TaskConfig,
    run: ExitRun,
    output_dir: str | Path,
    *,
    progress: bool = False,
) -> list[dict]:
    """Every question of this shard into ``output_dir/results.jsonl``, resuming what is there."""
    if task.mode != "loglikelihood":
        raise ValueError(f"exit scores are choice scores: they need a loglikelihood task, not {task.mode}")
    exits = check_exits(run.exits, chain_model.n_layers)
    output_dir = Path(output_dir)
    claim_run_dir(output_dir, {"task": asdict(task), "run": asdict(run) | {"limit": None}})
    log = ResultsLog(output_dir / "results.jsonl")
    examples = load_examples(task, limit=run.limit)[run.shard_index :: run.shard_count]
    todo = [example for example in examples if example.id not in log]
    for example in tqdm(todo, disable=not progress, desc=f"exits {task.benchmark} {task.split}"):
        query = build_query(example, tokenizer, task)
        machine, start = machine_state(), time.perf_counter()
        record = exit_record(query, choice_exits(chain_model, query, exits), chain_model.n_layers)
        log.append(record | {"split": task.split, "seconds": round(time.perf_counter() - start, 3)} | machine)
    return log.records
