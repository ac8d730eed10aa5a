"""Naive vs engine evaluation of the same searches: work, time, memory, and identical results.

Each variant runs in a fresh interpreter (``python -m benchmarks.benches.bench``, its
:class:`BenchVariant` pickled on stdin), so that its peak resident memory and its warm-up are its own. The
naive evaluator is the CoLa reference's way: every chain computed from scratch (a full forward,
or a full prefill and decode), with only whole-chain memoization.
"""

from __future__ import annotations

import json
import pickle
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace

from benchmarks.evaluator import ChainEvaluator
from benchmarks.runs.search_record import sample_rng
from benchmarks.runs.session import open_model, set_threads
from benchmarks.tasks import TaskConfig, build_queries, load_examples
from cola.engine import EngineConfig
from search import SearchConfig, search_function

VARIANTS = {"naive": False, "engine": True}
COUNTS = (
    "layer_forwards",
    "ideal_layer_forwards",
    "token_layer_forwards",
    "ideal_token_layer_forwards",
    "prefix_hits",
    "lane_steps",
    "speculative_unused",
)


@dataclass(frozen=True)
class BenchVariant:
    """One side of the bench: the same searches, with the naive or the prefix-reusing engine."""

    model: dict  # open_model's keyword arguments
    task: TaskConfig
    search: SearchConfig
    engine: EngineConfig
    limit: int
    seed: int
    threads: int | None


def run_variant(variant: BenchVariant) -> dict:
    set_threads(variant.threads)
    loaded, chain_model = open_model(**variant.model)
    queries = build_queries(load_examples(variant.task, limit=variant.limit), loaded.tokenizer, variant.task)
    search = search_function(variant.search.name)
    samples, totals = [], dict.fromkeys(COUNTS, 0)
    start = time.perf_counter()
    for query in queries:
        evaluator = ChainEvaluator(chain_model, loaded.tokenizer, query, variant.engine)
        rng = sample_rng(variant.seed, query.example_id)
        result = search(evaluator, chain_model.n_layers, variant.search, rng)
        samples.append(
            {
                "id": query.example_id,
                "rewards": [[list(chain), reward] for chain, reward in result.rewards.items()],
                "predictions": [str(evaluator.details[chain]["prediction"]) for chain in result.rewards],
            }
        )
        stats = evaluator.stats.as_dict()
        for name in COUNTS:
            totals[name] += stats[name]
    wall = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"samples": samples, "wall_seconds": wall, "peak_rss_mib": peak_mib, **totals}


def _run_in_child(name: str, variant: BenchVariant) -> dict:
    child = subprocess.run(
        [sys.executable, "-m", "benchmarks.benches.bench"],
        input=pickle.dumps(variant),
        capture_output=True,
        check=False,
    )
    if child.returncode != 0:
        raise RuntimeError(f"{name} variant failed:\n{child.stderr.decode()[-4000:]}")
    return json.loads(child.stdout.decode().strip().splitlines()[-1])


def run_bench(
    model: dict,
    task: TaskConfig,
    search_config: SearchConfig,
    engine: EngineConfig,
    *,
    limit: int,
    seed: int,
    threads: int | None,
) -> dict:
    """The same searches with the naive and the prefix-reusing engine, each in a fresh process."""
    base = BenchVariant(model, task, search_config, engine, limit, seed, threads)
    runs = {
        name: _run_in_child(name, replace(base, engine=replace(engine, reuse_prefixes=reuse)))
        for name, reuse in VARIANTS.items()
    }
    naive, fast = runs["naive"], runs["engine"]
    identical = all(
        [s[key] for s in naive["samples"]] == [s[key] for s in fast["samples"]]
        for key in ("rewards", "predictions")
    )
    return {
        "setup": {**asdict(base), "model": model},
        "identical_results": identical,
        "chains_evaluated": sum(len(s["rewards"]) for s in fast["samples"]),
        "variants": {name: {k: v for k, v in run.items() if k != "samples"} for name, run in runs.items()},
        "ratios": bench_ratios(naive, fast),
        "memory": memory_bound(naive, fast, engine),
    }


MEMORY_SLACK_MIB = 512  # what the engine may hold beyond its prefix cache: lanes' KV caches, batches


def memory_bound(naive: dict, fast: dict, engine: EngineConfig) -> dict:
    """The engine's peak RSS against the naive run's plus the prefix-cache bound plus a fixed slack."""
    bound = naive["peak_rss_mib"] + engine.prefix_cache_mb + MEMORY_SLACK_MIB
    return {
        "engine_over_naive_mib": fast["peak_rss_mib"] - naive["peak_rss_mib"],
        "bound_mib": bound,
        "within_bound": fast["peak_rss_mib"] <= bound,
    }


def bench_ratios(naive: dict, fast: dict) -> dict:
    ratios = {"wall_naive_over_engine": naive["wall_seconds"] / fast["wall_seconds"]}
    for unit in ("layer_forwards", "token_layer_forwards"):
        ideal = fast[f"ideal_{unit}"]
        ratios[f"{unit}_naive_over_engine"] = naive[unit] / fast[unit]
        ratios[f"{unit}_engine_over_ideal"] = fast[unit] / ideal
        ratios[f"{unit}_naive_over_ideal"] = naive[unit] / ideal
    return ratios


def bench_markdown(result: dict) -> str:
    setup = result["setup"]
    lines = [
        f"{setup['task']['benchmark']} ({setup['task']['mode']}), {setup['search']['name']} "
        f"{setup['search']['simulations']} simulations, {setup['limit']} samples, seed {setup['seed']}: "
        f"{result['chains_evaluated']} chains evaluated, identical results: {result['identical_results']}",
        "",
        "| evaluator | layer-forwards | ideal | token-layer forwards | ideal | wall (s) | peak RSS (MiB) "
        "| prefix hit rate | chains computed ahead, unused |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, run in result["variants"].items():
        hit_rate = run["prefix_hits"] / run["lane_steps"] if run["lane_steps"] else 0.0
        lines.append(
            f"| {name} | {run['layer_forwards']} | {run['ideal_layer_forwards']} | {run['token_layer_forwards']} | "
            f"{run['ideal_token_layer_forwards']} | {run['wall_seconds']:.1f} | {run['peak_rss_mib']:.0f} | "
            f"{hit_rate:.2f} | {run['speculative_unused']} |"
        )
    ratios = result["ratios"]
    lines += [
        "",
        f"naive / engine: wall {ratios['wall_naive_over_engine']:.2f}x, "
        f"layer-forwards {ratios['layer_forwards_naive_over_engine']:.2f}x, "
        f"token-layer forwards {ratios['token_layer_forwards_naive_over_engine']:.2f}x",
        f"engine / ideal: layer-forwards {ratios['layer_forwards_engine_over_ideal']:.2f}x, "
        f"token-layer forwards {ratios['token_layer_forwards_engine_over_ideal']:.2f}x",
    ]
    if "memory" in result:
        memory = result["memory"]
        lines.append(
            f"peak RSS: engine - naive = {memory['engine_over_naive_mib']:.0f} MiB; bound naive + prefix cache "
            f"+ {MEMORY_SLACK_MIB} MiB = {memory['bound_mib']:.0f} MiB: {'within' if memory['within_bound'] else 'OVER'}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(json.dumps(run_variant(pickle.loads(sys.stdin.buffer.read()))))
