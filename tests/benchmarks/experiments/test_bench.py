"""The naive-vs-engine benchmark's worker and table, on the tiny checkpoint (in-process)."""

from __future__ import annotations

from dataclasses import asdict, replace

from benchmarks.experiments.bench import BenchVariant, bench_markdown, bench_ratios, run_variant
from benchmarks.tasks import TaskConfig
from cola.engine import EngineConfig
from search import SearchConfig, StopRule
from tests.benchmarks.experiments.test_search_run import ARC_PATH


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
