"""Learn one static chain on a labelled split, stop it on validation, save it as a policy file.

The race itself is :mod:`search.static_chain`; this driver gives it a scorer that runs the model.
Learn on ``train``, choose the stopping point on ``validation``: no test question is read.

Every (question, chain) outcome computed is appended to ``outcomes.jsonl`` as soon as a question's
chains are done (its prediction and choice scores, so either objective can be read from it), and
the race is deterministic given them: a rerun replays the finished steps from the file and
resumes where the killed one stopped.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from benchmarks.learners.split_scores import OutcomeStore, Scoring, SplitScorer
from benchmarks.results import claim_run_dir, recorded_path, write_json
from benchmarks.tasks import TaskConfig, build_queries, load_examples
from cola import Chain, ChainModel, format_chain, full_chain
from cola.engine import EngineConfig
from cola.policy import StaticChain, save_policy
from search.static_chain import (
    RaceConfig,
    Step,
    keep_rate_path,
    learn_static_chain,
    pick_on_validation,
    pick_shortest_reaching,
)

logger = logging.getLogger(__name__)

OBJECTIVES = ("gold", "faithful")  # the answer key, or the full chain's own answer
METHODS = ("race", "keep_rate")  # single edits raced; or skips greedily in keep-rate order (faithful)


@dataclass(frozen=True)
class StaticChainStudy:
    race: RaceConfig
    objective: str = "gold"
    faithful_kl: float | None = None  # objective=faithful: also KL(full || chain) <= this, in nats
    train_split: str = "train"
    validation_split: str = "validation"
    validation_limit: int | None = None  # None: the whole validation split
    seed: int = 0  # shuffles the training questions before the first ones are taken
    method: str = "race"
    # objective=faithful: the share of questions on which a chain must agree with the full chain
    # (keep_rate's removals on training questions; the stopping point on validation)
    min_agreement: float = 0.99

    def __post_init__(self):
        if self.objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {self.objective!r}; choose from {', '.join(OBJECTIVES)}")
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose from {', '.join(METHODS)}")
        if self.method == "keep_rate" and self.objective != "faithful":
            raise ValueError(
                "method=keep_rate removes layers while the chain agrees with the full one; "
                "set objective=faithful"
            )
        if not 0 < self.min_agreement <= 1:
            raise ValueError(f"min_agreement must be in (0, 1], got {self.min_agreement}")
        if self.faithful_kl is not None and self.objective != "faithful":
            raise ValueError("faithful_kl bounds the faithful objective; set objective=faithful")
        for split in (self.train_split, self.validation_split):
            if split == "test":
                raise ValueError("a static chain is learned and stopped on labelled splits, never on test")


def training_examples(task: TaskConfig, study: StaticChainStudy, n: int) -> list:
    """The race's first ``n`` training questions, in its (seeded) order."""
    examples = load_examples(replace(task, split=study.train_split))
    if len(examples) < n:
        raise ValueError(
            f"the race needs {n} {study.train_split} questions; {task.benchmark} has {len(examples)}"
        )
    order = np.random.default_rng(study.seed).permutation(len(examples))[:n]
    return [examples[i] for i in order]


def training_queries(task: TaskConfig, study: StaticChainStudy, tokenizer, n: int) -> list:
    return build_queries(training_examples(task, study, n), tokenizer, replace(task, split=study.train_split))


def path_rows(path: list[Step], validation: np.ndarray, picked: int) -> list[dict]:
    return [
        {
            "step": index,
            "chain": format_chain(step.chain),
            "length": len(step.chain),
            "edit": step.edit,
            "screen_accuracy": step.screen_accuracy,
            "train_accuracy": step.final_accuracy,
            "validation_accuracy": float(validation[:, index].mean()),
            "candidates": step.candidates,
            "picked": index == picked,
        }
        for index, step in enumerate(path)
    ]


def path_markdown(
    rows: list[dict], study: StaticChainStudy, n_validation: int, rates: np.ndarray | None = None
) -> str:
    race = study.race
    what = "agreement with the full chain" if study.objective == "faithful" else "accuracy"
    lines = [
        f"Objective `{study.objective}`, method `{study.method}`; acc is {what}: train on "
        f"{race.final_questions} {study.train_split} questions, validation on {n_validation} "
        f"{study.validation_split} questions.",
        "",
        "| step | edit | layers | train acc | validation acc | chain |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        mark = " **(picked)**" if row["picked"] else ""
        lines.append(
            f"| {row['step']}{mark} | {row['edit'] or 'start'} | {row['length']} | {row['train_accuracy']:.3f} | "
            f"{row['validation_accuracy']:.3f} | `{row['chain']}` |"
        )
    if rates is not None:
        ranked = sorted(range(len(rates)), key=lambda layer: (-rates[layer], layer))
        lines += [
            "",
            f"Single-skip keep rates on the {race.screen_questions} screening questions, highest first "
            f"(a layer is tried only at {study.min_agreement} or above): "
            + ", ".join(f"{layer} {rates[layer]:.3f}" for layer in ranked),
        ]
    return "\n".join(lines) + "\n"


def stop_on_validation(
    scoring: Scoring, task: TaskConfig, study: StaticChainStudy, chains: list[Chain]
) -> tuple[np.ndarray, int]:
    """Every path chain's hits on the validation questions, and where they stop the path: the best
    accuracy (gold), or the shortest chain agreeing on ``min_agreement`` of them (faithful)."""
    validation_task = replace(task, split=study.validation_split)
    queries = build_queries(
        load_examples(validation_task, limit=study.validation_limit), scoring.tokenizer, validation_task
    )
    scorer = SplitScorer(scoring, queries, study.validation_split, "validation")
    validation = scorer(chains, len(queries))
    if study.objective == "faithful":
        return validation, pick_shortest_reaching(chains, validation.mean(axis=0), study.min_agreement)
    return validation, pick_on_validation(chains, validation.mean(axis=0))


def learn_static_chain_policy(
    chain_model: ChainModel,
    tokenizer,
    task: TaskConfig,
    study: StaticChainStudy,
    engine: EngineConfig,
    output_dir: str | Path,
    *,
    model_fingerprint: str,
    progress: bool = False,
    start: Chain | None = None,
) -> dict:
    """Race a static chain on ``train``, stop it on ``validation``; write the path and the policy file."""
    output_dir = Path(output_dir)
    start = tuple(start) if start is not None else full_chain(chain_model.n_layers)
    settings = {
        "model_fingerprint": model_fingerprint,
        "task": asdict(task),
        "study": asdict(study),
        "start": format_chain(start),
    }
    claim_run_dir(output_dir, settings)
    scoring = Scoring(
        chain_model,
        tokenizer,
        OutcomeStore(output_dir / "outcomes.jsonl"),
        study.objective,
        engine,
        progress,
        study.faithful_kl,
    )
    train_queries = training_queries(task, study, tokenizer, study.race.final_questions)
    train = SplitScorer(scoring, train_queries, study.train_split, "race step")
    rates = None  # keep_rate: each layer's single-skip keep rate on the screening questions
    if study.method == "race":
        path = learn_static_chain(start, chain_model.n_layers, train, study.race)
    else:
        path, rates = keep_rate_path(chain_model.n_layers, train, study.race, study.min_agreement)
    chains = [step.chain for step in path]
    validation, picked = stop_on_validation(scoring, task, study, chains)
    rows = path_rows(path, validation, picked)
    policy_path = output_dir / "static_chain.safetensors"
    save_policy(
        StaticChain(chains[picked]),
        policy_path,
        fingerprint=model_fingerprint,
        n_layers=chain_model.n_layers,
        trained_toward=study.objective,
    )
    result = {
        "settings": settings,
        "path": rows,
        "picked": format_chain(chains[picked]),
        "policy": recorded_path(policy_path),
    }
    if rates is not None:
        result["single_keep_rates"] = [float(rate) for rate in rates]
    write_json(output_dir / "path.json", result)
    (output_dir / "path.md").write_text(path_markdown(rows, study, len(validation), rates))
    return result
