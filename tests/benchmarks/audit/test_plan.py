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


def test_a_learning_stage_is_not_timed_and_threads_are_restored(tmp_path):
    import torch

    from benchmarks.audit.plan import plan_stages

    ran, threads = [], torch.get_num_threads()
    learning = Stage(
        name="static-race", settings={}, run=lambda f, limit: ran.append(limit), questions=50, timed=False
    )
    seen = []
    searching = Stage(
        name="search-x",
        settings={},
        run=lambda f, limit: None,
        questions=10,
        run_shard=lambda f, i, n: seen.append(torch.get_num_threads()),
    )
    planned = plan_stages([learning, searching], tmp_path, probe=2, workers=2, shard_threads=1)
    assert ran == [] and planned[0].seconds_per_question is None and planned[0].estimate_seconds == 0
    assert seen == [1] and torch.get_num_threads() == threads  # a worker's threads, then restored
