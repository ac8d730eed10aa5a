"""The plan times a shardable stage on questions spread over it, and a plain one on its first."""

from __future__ import annotations

from benchmarks.audit.plan import timed_probe
from benchmarks.audit.stages import Stage


def test_a_shardable_stage_is_timed_on_questions_spread_over_it():
    ran = []

    def run_shard(folder, index, shards):
        ran.extend(range(index, 40, shards))

    stage = Stage(
        name="search-x", settings={}, run=lambda folder, limit: None, questions=40, run_shard=run_shard
    )
    assert timed_probe(stage, 3) >= 0
    assert ran == [0, 14, 28]  # every 14th question: the first, one in the middle, one near the end


def test_a_plain_stage_is_timed_on_its_first_questions():
    limits = []
    stage = Stage(name="full-test", settings={}, run=lambda folder, limit: limits.append(limit), questions=40)
    timed_probe(stage, 2)
    assert limits == [2]
