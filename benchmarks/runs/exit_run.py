"""Every exit's choice scores for every question of a split, in one pass per question (resumable).

A record holds, for each exit kept (0 = the embedding output, k = after layer k of the full chain,
``n_layers`` = the model's own answer), each choice's summed log-probability; DoLa's choice scores
for each of its variants (read from the same pass); and what a choice is regardless of the model
(its characters, its tokens): what exit ensembles, DoLa's choice of layer and the exit calibration
read without another forward. Questions are split into shards as search runs are.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from benchmarks.machine import machine_state
from benchmarks.packed import PackedChoices, target_log_probs
from benchmarks.queries import ChoiceOutcome, LoglikelihoodQuery
from benchmarks.results import ResultsLog, claim_run_dir
from benchmarks.runs.dola_scores import dola_from_logits, exit_states
from benchmarks.tasks import TaskConfig, build_query, load_examples
from cola import ChainModel, full_chain
from cola.dola import BUCKETS, candidate_layers, premature_logits
from cola.exits import check_exits
from cola.inference import encode

HEAD_CHUNK = 8  # exits per LM-head call: Gemma's 262k-token head on every exit at once holds ~1 GB


@dataclass(frozen=True)
class ExitRun:
    model: str
    exits: tuple[int, ...] | None = None  # None: every exit, 0..n_layers
    dola: bool = True  # also DoLa's choice scores, static per candidate layer and dynamic per bucket
    neutral: bool = True  # also each choice's score after the neutral premise (domain-conditional PMI)
    limit: int | None = None
    shard_index: int = 0
    shard_count: int = 1
    model_fingerprint: str | None = None

    def __post_init__(self):
        if not 0 <= self.shard_index < self.shard_count:
            raise ValueError(
                f"shard_index {self.shard_index} out of range for shard_count {self.shard_count}"
            )


def exit_outcomes(
    chain_model: ChainModel, query: LoglikelihoodQuery, found: dict[int, torch.Tensor]
) -> dict[int, ChoiceOutcome]:
    """Each exit's choice outcome (final norm and head on its state), a few exits per head call."""
    order, outcomes = sorted(found), {}
    for start in range(0, len(order), HEAD_CHUNK):
        part = order[start : start + HEAD_CHUNK]
        scored = query.score_rows_many([found[k] for k in part], chain_model.head)
        outcomes |= dict(zip(part, scored, strict=True))
    return outcomes


@torch.inference_mode()
def choice_exits(
    chain_model: ChainModel, query: LoglikelihoodQuery, exits: list[int] | None = None
) -> dict[int, ChoiceOutcome]:
    """The full chain's choice outcome at each exit, from one packed pass over the question."""
    return exit_outcomes(
        chain_model, query, exit_states(chain_model, query, check_exits(exits, chain_model.n_layers))
    )


NEUTRAL_PREMISE = "Answer:"  # the domain premise of domain-conditional PMI (Holtzman et al., 2021)


@torch.inference_mode()
def neutral_scores(chain_model: ChainModel, query: LoglikelihoodQuery, premise_ids: list[int]) -> list[float]:
    """Each choice's summed log-probability after the neutral premise alone, its tokens as in the
    question: a choice's score less this one is its domain-conditional PMI."""
    packed = PackedChoices.build(premise_ids, query.continuation_ids)
    hidden = chain_model.embed(packed.input_ids)
    inputs = chain_model.packed_inputs(hidden, packed.position_ids, packed.visible)
    final = chain_model.run_steps(hidden, full_chain(chain_model.n_layers), inputs)
    logits = chain_model.head(final[0, packed.scored]).float()
    outcome = query.choice_outcome(target_log_probs(logits, packed.scored_index, query.targets))
    return [round(float(x), 5) for x in outcome.scores]


def dola_variants(chain_model: ChainModel) -> dict[str, tuple[int, ...]]:
    """DoLa's variants a record scores: static against each candidate layer of either bucket, and
    dynamic over each bucket (transformers' candidates)."""
    tied = bool(getattr(chain_model.config, "tie_word_embeddings", False))
    buckets = {
        bucket: candidate_layers(chain_model.n_layers, bucket, tied_embeddings=tied) for bucket in BUCKETS
    }
    static = {f"static-{layer}": (layer,) for layer in sorted({*buckets["low"], *buckets["high"]})}
    return static | {bucket: tuple(layers) for bucket, layers in buckets.items()}


@torch.inference_mode()
def question_scores(
    chain_model: ChainModel, query: LoglikelihoodQuery, run: ExitRun, premise_ids: list[int] | None = None
) -> dict:
    """One pass over the question: the exits' choice scores and, with ``run.dola``, DoLa's; with
    ``premise_ids``, each choice's score after the neutral premise (a second, short pass)."""
    n_layers = chain_model.n_layers
    exits = check_exits(run.exits, n_layers)
    variants = dola_variants(chain_model) if run.dola else {}
    needed = sorted({*exits, n_layers, *(layer for layers in variants.values() for layer in layers)})
    found = exit_states(chain_model, query, needed)
    outcomes = exit_outcomes(chain_model, query, {k: found[k] for k in exits})
    fields = {
        "exits": exits,
        "exit_scores": [[round(float(x), 5) for x in outcomes[k].scores] for k in exits],
    }
    if variants:  # each layer's premature logits once, shared by the variants that contrast with it
        final = chain_model.head(found[n_layers])
        used = {layer for layers in variants.values() for layer in layers}
        premature = {layer: premature_logits(chain_model.model, found[layer]) for layer in used}
        dola = {
            name: dola_from_logits(query, final, {layer: premature[layer] for layer in layers})[0]
            for name, layers in variants.items()
        }
        fields["dola_scores"] = {
            name: [round(float(x), 5) for x in outcome.scores] for name, outcome in dola.items()
        }
    if premise_ids is not None:
        fields["neutral_scores"] = neutral_scores(chain_model, query, premise_ids)
    return fields


def exit_record(query: LoglikelihoodQuery, fields: dict, n_layers: int) -> dict:
    return {
        "id": query.example_id,
        "gold": query.gold,
        "n_layers": n_layers,
        "choice_chars": list(query.choice_chars),
        "choice_tokens": [len(continuation) for continuation in query.continuation_ids],
        **fields,
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
    check_exits(run.exits, chain_model.n_layers)
    output_dir = Path(output_dir)
    claim_run_dir(output_dir, {"task": asdict(task), "run": asdict(run) | {"limit": None}})
    log = ResultsLog(output_dir / "results.jsonl")
    premise = encode(tokenizer, NEUTRAL_PREMISE, chat=task.chat) if run.neutral else None
    examples = load_examples(task, limit=run.limit)[run.shard_index :: run.shard_count]
    todo = [example for example in examples if example.id not in log]
    for example in tqdm(todo, disable=not progress, desc=f"exits {task.benchmark} {task.split}"):
        query = build_query(example, tokenizer, task)
        machine, start = machine_state(), time.perf_counter()
        record = exit_record(query, question_scores(chain_model, query, run, premise), chain_model.n_layers)
        log.append(
            record
            | {
                "benchmark": task.benchmark,
                "split": task.split,
                "seconds": round(time.perf_counter() - start, 3),
            }
            | machine
        )
    return log.records
