"""Chain ensembles: several chains answer a multiple-choice question together, by the mean of
their choice scores (:class:`cola.policy.ChainEnsemble`), and the libraries they are built from.

They run every chain, so they cannot save layers; they ask whether chains carry label-free
accuracy at all. The rival at equal cost is an ensemble of as many random chains.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np

from benchmarks.evaluator import ChainEvaluator
from benchmarks.experiments.static_chain import OutcomeStore
from benchmarks.queries import LoglikelihoodQuery, Query
from cola import Chain, ChainModel, parse_chain
from cola.chain import parse_stored_chain
from cola.engine import EngineConfig
from cola.policy import ChainEnsemble
from search import SearchConfig
from search.baselines import random_chain


def ensemble_fields(chain_model: ChainModel, tokenizer, query: Query, ensemble: ChainEnsemble) -> dict:
    """The ensemble's answer to ``query``: the mean of its chains' choice scores (and of their
    per-character scores for acc_norm), each member's own prediction beside."""
    if not isinstance(query, LoglikelihoodQuery):
        raise ValueError(
            "a chain ensemble averages choice scores: it needs loglikelihood-mode multiple choice"
        )
    evaluator = ChainEvaluator(chain_model, tokenizer, query, EngineConfig())
    evaluator.hint(list(ensemble.chains), certain=len(ensemble.chains), may_stop=False)
    outcomes = [evaluator.outcome(chain) for chain in ensemble.chains]
    return combined_fields([outcome["scores"] for outcome in outcomes], query.choice_chars, query.gold)


def combined_fields(member_scores: list, choice_chars: list[int], gold: int) -> dict:
    """The answer of chains whose choice scores are ``member_scores``: their mean decides (and the
    mean per character for acc_norm). Each member's scores stay in the record, so the ensemble of
    its first k members follows from it (:func:`sub_ensemble_record`)."""
    scores = np.mean(member_scores, axis=0)
    normalized = scores / np.asarray(choice_chars, dtype=float)  # the mean commutes with the division
    prediction, prediction_norm = int(np.argmax(scores)), int(np.argmax(normalized))
    return {
        "prediction": prediction,
        "correct": prediction == gold,
        "scores": scores.tolist(),
        "prediction_norm": prediction_norm,
        "correct_norm": prediction_norm == gold,
        "member_predictions": [int(np.argmax(member)) for member in member_scores],
        "member_scores": [[float(x) for x in member] for member in member_scores],
    }


def sub_ensemble_record(record: dict, size: int) -> dict:
    """An ensemble's record cut to its first ``size`` members: what that smaller ensemble answers.
    Top-m and random ensembles nest (the first chains of a larger one are the smaller one), so one
    run of the largest gives every size. Its seconds are unknown (the members shared prefixes)."""
    members = record.get("member_scores")
    if members is None or len(members) < size:
        raise ValueError(
            f"record {record.get('id')!r} holds {len(members or [])} members' scores; {size} are needed"
        )
    chains = record["chain"].split("+")[:size]
    return (
        record
        | combined_fields(members[:size], record["choice_chars"], record["gold"])
        | {
            "chain": "+".join(chains),
            "chain_length": sum(len(parse_stored_chain(chain)) for chain in chains),
            "seconds": None,
        }
    )


def score_ensemble(
    chain_model: ChainModel, tokenizer, queries: list[Query], ensemble: ChainEnsemble
) -> Iterable[tuple[Query, dict, tuple[Chain, ...], float]]:
    """Yield (query, fields, the chains run, seconds) per query, as ``score_queries`` does."""
    for query in queries:
        start = time.perf_counter()
        fields = ensemble_fields(chain_model, tokenizer, query, ensemble)
        yield query, fields, ensemble.chains, time.perf_counter() - start


def top_chains(accuracy: dict[Chain, float], size: int) -> ChainEnsemble:
    """The ``size`` chains of highest training accuracy (ties: fewer steps, then the chain)."""
    if len(accuracy) < size:
        raise ValueError(f"an ensemble of {size} needs {size} chains; the library has {len(accuracy)}")
    ranked = sorted(accuracy, key=lambda chain: (-accuracy[chain], len(chain), chain))
    return ChainEnsemble(tuple(ranked[:size]))


def random_ensemble(n_layers: int, size: int, seed: int) -> ChainEnsemble:
    """``size`` distinct random chains (1–4 random edits of the full chain, as ``search=random``)."""
    rng, chains = np.random.default_rng(seed), []
    config = SearchConfig()
    while len(chains) < size:
        chain = random_chain(n_layers, config, rng)
        if chain not in chains:
            chains.append(chain)
    return ChainEnsemble(tuple(chains))


def race_library(
    store: OutcomeStore, n_layers: int, questions: list[str], split: str = "train"
) -> dict[Chain, float]:
    """Accuracy on ``questions`` (a race's screening questions, which every step's screen reads) of
    every chain the static-chain race scored on all of them: the ensembles' library."""
    outcomes = {question: store.outcomes[(split, question)] for question in questions}
    library = set.intersection(*(set(chains) for chains in outcomes.values()))
    if not library:
        raise ValueError(f"no chain was scored on all {len(questions)} screening questions")
    return {
        parse_chain(text, n_layers): float(
            np.mean([outcomes[question][text]["correct"] for question in questions])
        )
        for text in sorted(library)
    }
