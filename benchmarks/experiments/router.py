"""Label-free chain routing and the static chain, learned from search results on a training split.

Per-sample oracle chains need the answer to find. A router instead picks a chain for a new input
from features the model computes anyway (:class:`cola.policy.KnnRouter`, which applies it). Learning
one here: keep a small library of chains that search found correct most often on the training
split, and label every (training sample, library chain) pair by evaluating it.

The static chain is the single chain with the best mean reward over training samples, found by
MCTS on the mean reward: searched layer pruning, one chain for every input.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

import numpy as np

from benchmarks.evaluator import ChainEvaluator
from benchmarks.experiments.stats import mean_interval, wilson_interval
from benchmarks.queries import Query, context_ids
from cola import Chain, ChainModel, full_chain, parse_chain
from cola.engine import EngineConfig
from cola.policy import context_feature
from search import SearchConfig, StopRule, mcts_search


def chain_library(records: list[dict], *, size: int) -> list[Chain]:
    """The full chain, then the ``size`` chains found correct for the most training samples."""
    n_layers = records[0]["n_layers"]
    full = full_chain(n_layers)
    counts = Counter(parse_chain(text, n_layers) for record in records for text in record["correct_chains"])
    counts.pop(full, None)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], len(item[0]), item[0]))
    return [full] + [chain for chain, _ in ranked[:size]]


def prompt_feature(chain_model: ChainModel, query: Query, *, layers: int) -> np.ndarray:
    """The routing feature of a query's context (its first row, before any choice)."""
    return context_feature(chain_model, context_ids(query), layers=layers)


def evaluate_chains(
    chain_model: ChainModel, tokenizer, queries: list[Query], chains: list[Chain], engine: EngineConfig
) -> np.ndarray:
    """(samples, chains) 0/1 matrix: is chain k correct on sample n."""
    labels = np.zeros((len(queries), len(chains)))
    for row, query in enumerate(queries):
        evaluator = ChainEvaluator(chain_model, tokenizer, query, engine)
        labels[row] = [evaluator(chain) for chain in chains]
    return labels


class MeanEvaluator:
    """Mean reward of a chain over several samples: what a static chain is searched on."""

    def __init__(self, evaluators: list[ChainEvaluator]):
        self.evaluators = evaluators

    def __call__(self, chain: Chain) -> float:
        return float(np.mean([evaluator(chain) for evaluator in self.evaluators]))


def find_static_chain(
    chain_model: ChainModel,
    tokenizer,
    queries: list[Query],
    *,
    simulations: int,
    seed: int,
    engine: EngineConfig,
) -> tuple[Chain, float, float]:
    """(chain, its mean training reward, the full chain's): best mean reward, then shortest."""
    per_sample = replace(engine, prefix_cache_mb=engine.prefix_cache_mb / max(len(queries), 1))
    evaluator = MeanEvaluator([ChainEvaluator(chain_model, tokenizer, q, per_sample) for q in queries])
    config = SearchConfig(simulations=simulations, stop=StopRule(enabled=False))
    result = mcts_search(evaluator, chain_model.n_layers, config, np.random.default_rng(seed))
    best = min(result.rewards, key=lambda chain: (-result.rewards[chain], len(chain), len(set(chain))))
    return best, result.rewards[best], result.original_reward


def comparison_row(name: str, correct: list[bool], lengths: list[int]) -> dict:
    low, high = wilson_interval(sum(correct), len(correct))
    mean_length, length_low, length_high = mean_interval(lengths)
    return {
        "policy": name,
        "n": len(correct),
        "accuracy": sum(correct) / len(correct),
        "accuracy_ci95": [low, high],
        "mean_length": mean_length,
        "mean_length_ci95": [length_low, length_high],
    }


def table_markdown(rows: list[dict]) -> str:
    lines = ["| policy | n | accuracy (95% CI) | mean chain length (95% CI) |", "|---|---|---|---|"]
    for row in rows:
        low, high = row["accuracy_ci95"]
        length_low, length_high = row["mean_length_ci95"]
        length_ci = "" if math.isnan(length_low) else f" ({length_low:.2f}–{length_high:.2f})"
        lines.append(
            f"| {row['policy']} | {row['n']} | {row['accuracy']:.3f} ({low:.3f}–{high:.3f}) | "
            f"{row['mean_length']:.2f}{length_ci} |"
        )
    return "\n".join(lines)
