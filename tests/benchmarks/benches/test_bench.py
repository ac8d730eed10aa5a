"""The naive-vs-engine benchmark's worker and table, on the tiny checkpoint (in-process)."""

from __future__ import annotations

from dataclasses import asdict, replace

from benchmarks.benches.bench import BenchVariant, bench_markdown, bench_ratios, run_bench, run_variant
from benchmarks.tasks import TaskConfig
from cola.engine import EngineConfig
from search import SearchConfig, StopRule
from tests.benchmarks.runs.test_search_run import ARC_PATH, GSM_PATH


def test_bench_worker_and_table(tiny_checkpoint):
    config = SearchConfig(simulations=15, stop=StopRule(enabled=False))
    engine = EngineConfig(lookahead=1)  # nothing computed ahead: exactly the ideal work
    variant = BenchVariant(
        {"spec": str(tiny_checkpoint)}, TaskConfig("arc_easy", path=ARC_PATH), config, engine, 3, 0, 1
    )
    runs = {
        name: run_variant(replace(variant, engine=replace(engine, reuse_prefixes=reuse)))
        for name, reuse in (("naive", False), ("engine", True))
    }
    assert [s["rewards"] for s in runs["naive"]["samples"]] == [
        s["rewards"] for s in runs["engine"]["samples"]
    ]
    assert runs["engine"]["layer_forwards"] == runs["engine"]["ideal_layer_forwards"]
    assert runs["naive"]["layer_forwards"] > runs["engine"]["layer_forwards"]
    result = {
        "setup": {**asdict(variant), "model": variant.model},
        "identical_results": True,
        "chains_evaluated": sum(len(s["rewards"]) for s in runs["engine"]["samples"]),
        "variants": {name: {k: v for k, v in run.items() if k != "samples"} for name, run in runs.items()},
        "ratios": bench_ratios(runs["naive"], runs["engine"]),
    }
    table = bench_markdown(result)
    assert "| naive |" in table and "| engine |" in table and "identical results: True" in table


def test_bench_keeps_the_engine_within_its_memory_bound(tiny_checkpoint):
    """Each variant in its own process (its own peak RSS): decoding 16 lanes with a 1 MiB prefix
    cache stays within the naive run's peak + prefix cache + slack, with identical results."""
    result = run_bench(
        {"spec": str(tiny_checkpoint)},
        TaskConfig("gsm8k", mode="direct", path=GSM_PATH, max_new_tokens=12),
        SearchConfig(simulations=20, stop=StopRule(enabled=False)),
        EngineConfig(prefix_cache_mb=1, lookahead=16),
        limit=2,
        seed=0,
        threads=1,
    )
    assert result["identical_results"]
    assert result["memory"]["within_bound"], result["memory"]
    assert result["variants"]["engine"]["peak_rss_mib"] > 0
    assert "peak RSS: engine - naive" in bench_markdown(result)
