"""Chains scored on a labelled split's questions: each (question, chain) outcome computed once and
appended to a store as soon as a question's chains are done, so a killed learner resumes, and
either objective (the answer key, or the full chain's own answer) reads the same outcomes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks.evaluator import ChainEvaluator
from benchmarks.faithful import decisive_distribution, kl_divergence
from benchmarks.results import ResultsLog
from cola import Chain, ChainModel, format_chain, full_chain
from cola.engine import EngineConfig


class OutcomeStore:
    """Per (split, question, chain) outcomes, appended per question as they are computed."""

    def __init__(self, path: Path):
        self.log = ResultsLog(path, key="key")
        self.outcomes: dict[tuple[str, str], dict[str, dict]] = defaultdict(dict)
        self.lines: dict[tuple[str, str], int] = defaultdict(int)
        for record in self.log.records:
            question = (record["split"], record["id"])
            self.outcomes[question] |= record["outcomes"]
            self.lines[question] += 1

    def missing(self, split: str, question_id: str, chains: Sequence[Chain]) -> list[Chain]:
        known = self.outcomes[(split, question_id)]
        return [chain for chain in chains if format_chain(chain) not in known]

    def add(self, split: str, question_id: str, outcomes: dict[str, dict]) -> None:
        question = (split, question_id)
        key = f"{split}:{question_id}:{self.lines[question]}"
        self.log.append({"key": key, "split": split, "id": question_id, "outcomes": outcomes})
        self.outcomes[question] |= outcomes
        self.lines[question] += 1

    def get(self, split: str, question_id: str, chain: Chain) -> dict:
        return self.outcomes[(split, question_id)][format_chain(chain)]


@dataclass(frozen=True)
class Scoring:
    """What every scorer of one learning run shares."""

    chain_model: ChainModel
    tokenizer: object
    store: OutcomeStore
    objective: str
    engine: EngineConfig
    progress: bool
    faithful_kl: float | None = None


class SplitScorer:
    """0/1 hits of chains on the first questions of one split, computing only what is not stored."""

    def __init__(self, scoring: Scoring, queries: list, split: str, label: str):
        self.scoring = scoring
        self.queries = queries
        self.split = split
        self.label = label  # what the progress bar says
        self.full = full_chain(scoring.chain_model.n_layers)
        self.calls = 0

    def __call__(self, chains: Sequence[Chain], n: int) -> np.ndarray:
        if n > len(self.queries):
            raise ValueError(
                f"the race asks for {n} {self.split} questions; the split has {len(self.queries)}"
            )
        self.calls += 1
        store = self.scoring.store
        wanted = [*chains, self.full] if self.scoring.objective == "faithful" else list(chains)
        todo = [query for query in self.queries[:n] if store.missing(self.split, query.example_id, wanted)]
        desc = f"{self.label} {self.calls}: {len(chains)} chains"
        for query in tqdm(todo, disable=not self.scoring.progress, desc=desc, leave=False):
            self._compute(query, store.missing(self.split, query.example_id, wanted))
        return np.array(
            [[self.hit(query.example_id, chain) for chain in chains] for query in self.queries[:n]]
        )

    def _compute(self, query, chains: list[Chain]) -> None:
        scoring = self.scoring
        evaluator = ChainEvaluator(scoring.chain_model, scoring.tokenizer, query, scoring.engine)
        evaluator.hint(chains, certain=len(chains), may_stop=False)
        outcomes = {}
        for chain in chains:
            outcome = evaluator.outcome(chain)
            outcomes[format_chain(chain)] = {
                "correct": bool(outcome["correct"]),
                "prediction": outcome["prediction"],
                # The scores that decide the answer (per character for acc_norm), for KL bounds.
                "scores": [
                    round(float(x), 5) for x in outcome.get("decisive_scores", outcome.get("scores", ()))
                ],
            }
        scoring.store.add(self.split, query.example_id, outcomes)

    def hit(self, question_id: str, chain: Chain) -> bool:
        outcome = self.scoring.store.get(self.split, question_id, chain)
        if self.scoring.objective == "gold":
            return outcome["correct"]
        full = self.scoring.store.get(self.split, question_id, self.full)
        if outcome["prediction"] != full["prediction"]:
            return False
        bound = self.scoring.faithful_kl
        return (
            bound is None
            or kl_divergence(decisive_distribution(full), decisive_distribution(outcome)) <= bound
        )
