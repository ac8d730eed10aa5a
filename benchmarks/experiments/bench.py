"""Naive vs engine evaluation of the same searches: work, time, memory, and identical results.

Each variant runs in a fresh interpreter (``python -m benchmarks.experiments.bench``, arguments as JSON on
stdin), so that its peak resident memory and its warm-up are its own. The
naive evaluator is the CoLa reference's way: every chain computed from scratch (a full forward,
or a full prefill and decode), with only whole-chain memoization.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from dataclasses import asdict

from benchmarks.evaluator import ChainEvaluator
from benchmarks.experiments.search_run import sample_rng
from benchmarks.experiments.session import open_model, set_threads, task_from_config
from benchmarks.tasks import build_queries, load_examples
from cola.engine import EngineConfig
from search import EditConfig, SearchConfig, StopRule, search_function

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


def _run_variant(args: dict) -> dict:
    set_threads(args["threads"])
    loaded, chain_model = open_model(args["model"])
    task = task_from_config(args["benchmark"])
    queries = build_queries(load_examples(task, limit=args["limit"]), loaded.tokenizer, task)
    engine = EngineConfig(**{**args["engine"], "reuse_prefixes": args["reuse"]})
    search = search_function(args["search"])
    config = search_config_from_dict(args["search_config"])
    samples, totals = [], dict.fromkeys(COUNTS, 0)
    start = time.perf_counter()
    for query in queries:
        evaluator = ChainEvaluator(chain_model, loaded.tokenizer, query, engine)
        result = search(evaluator, chain_model.n_layers, config, sample_rng(args["seed"], query.example_id))
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


def run_bench(
    model_cfg: dict,
    benchmark_cfg: dict,
    search_config: SearchConfig,
    engine: EngineConfig,
    *,
    algorithm: str,
    limit: int,
    seed: int,
    threads: int | None,
) -> dict:
    base = {
        "model": model_cfg,
        "benchmark": benchmark_cfg,
        "search": algorithm,
        "search_config": asdict(search_config),
        "engine": asdict(engine),
        "limit": limit,
        "seed": seed,
        "threads": threads,
    }
    runs = {}
    for name, reuse in VARIANTS.items():
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.experiments.bench"],
            input=json.dumps({**base, "reuse": reuse}),
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            raise RuntimeError(f"{name} variant failed:\n{child.stderr[-4000:]}")
        runs[name] = json.loads(child.stdout.strip().splitlines()[-1])
    naive, fast = runs["naive"], runs["engine"]
    identical = [s["rewards"] for s in naive["samples"]] == [s["rewards"] for s in fast["samples"]] and [
        s["predictions"] for s in naive["samples"]
    ] == [s["predictions"] for s in fast["samples"]]
    chains = sum(len(s["rewards"]) for s in fast["samples"])
    return {
        "setup": base,
        "identical_results": identical,
        "chains_evaluated": chains,
        "variants": {name: {k: v for k, v in run.items() if k != "samples"} for name, run in runs.items()},
        "ratios": bench_ratios(naive, fast),
    }


def bench_ratios(naive: dict, fast: dict) -> dict:
    ratios = {"wall_naive_over_engine": naive["wall_seconds"] / fast["wall_seconds"]}
    for unit in ("layer_forwards", "token_layer_forwards"):
        ideal = fast[f"ideal_{unit}"]
        ratios[f"{unit}_naive_over_engine"] = naive[unit] / fast[unit]
        ratios[f"{unit}_engine_over_ideal"] = fast[unit] / ideal
        ratios[f"{unit}_naive_over_ideal"] = naive[unit] / ideal
    return ratios


def search_config_from_dict(fields: dict) -> SearchConfig:
    edits = {**fields["edits"], "skip_sizes": tuple(fields["edits"]["skip_sizes"])}
    return SearchConfig(**{**fields, "edits": EditConfig(**edits), "stop": StopRule(**fields["stop"])})


def bench_markdown(result: dict) -> str:
    setup = result["setup"]
    lines = [
        f"{setup['benchmark']['name']} ({setup['benchmark']['mode']}), {setup['search']} "
        f"{setup['search_config']['simulations']} simulations, {setup['limit']} samples, seed {setup['seed']}: "
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
    return "\n".join(lines)


if __name__ == "__main__":
    print(json.dumps(_run_variant(json.loads(sys.stdin.read()))))
