"""The libraries chain ensembles are built from: the top chains of a static race, or random chains.

Ensembles run every chain, so they cannot save layers; they ask whether chains carry label-free
accuracy at all. The rival at equal cost is an ensemble of as many random chains. Their answers are
:mod:`benchmarks.runs.ensemble_scores`'s.
"""

from __future__ import annotations

import numpy as np

from benchmarks.learners.split_scores import OutcomeStore
from cola import Chain, parse_chain
from cola.policy import ChainEnsemble
from search import SearchConfig
from search.baselines import random_chain


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
