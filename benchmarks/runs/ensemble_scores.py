"""A chain ensemble's answers: several chains answer a multiple-choice question together, by the
mean of their choice scores (:class:`cola.policy.ChainEnsemble`); each member's scores stay in the
record, so every smaller ensemble nested in it follows without a forward.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np

from benchmarks.evaluator import ChainEvaluator
from benchmarks.queries import LoglikelihoodQuery, Query
from cola import Chain, ChainModel
from cola.chain import parse_stored_chain
from cola.engine import EngineConfig
from cola.policy import ChainEnsemble


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
