"""The audit's plan, before any long work: each stage, its questions, whether it is done, and an
estimate of its time from running a few of its questions in a scratch folder on this machine."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from benchmarks.audit.stages import Stage, refuse_changed, stage_state


@dataclass(frozen=True)
class PlannedStage:
    name: str
    questions: int
    state: str  # "done", "partial" or "new"
    seconds_per_question: float | None  # None: not timed (done, or reads records only)
    shards: int = 1  # workers its questions are split over

    @property
    def estimate_seconds(self) -> float:
        if self.state == "done" or self.seconds_per_question is None:
            return 0.0
        return self.seconds_per_question * self.questions / self.shards


def timed_probe(stage: Stage, probe: int, shard_threads: int | None = None) -> float:
    """Seconds per question of ``stage`` on ``probe`` of its questions, in a throwaway folder: spread
    over the stage where it shards (one shard of ``questions / probe``, which takes every k-th
    question: a search's cost varies with the question, and its first ones are no sample of it),
    and with the torch threads a shard worker gets (``shard_threads``), else its first ones. The
    first question also pays for warm-up, so this errs high."""
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory(prefix=f"cola-plan-{stage.name}-") as scratch:
        start = time.perf_counter()
        try:
            if stage.run_shard is not None and stage.questions > probe:
                torch.set_num_threads(shard_threads or threads)
                shards = -(-stage.questions // probe)  # ceil: shard 0 holds `probe` questions
                stage.run_shard(Path(scratch), 0, shards)
                probe = len(range(0, stage.questions, shards))
            else:
                stage.run(Path(scratch), probe)
        finally:
            torch.set_num_threads(threads)
        return (time.perf_counter() - start) / probe


def plan_stages(
    stages: list[Stage], root: Path, *, probe: int = 2, workers: int = 1, shard_threads: int | None = None
) -> list[PlannedStage]:
    refuse_changed(stages, root)
    planned, states = [], {}
    for stage in stages:
        state = states[stage.name] = stage_state(stage, root)
        # a stage that reads another's records can be timed only once they exist
        ready = all(states.get(need) == "done" for need in stage.needs)
        timed = state != "done" and stage.questions > 0 and probe > 0 and ready and stage.timed
        planned.append(
            PlannedStage(
                name=stage.name,
                questions=stage.questions,
                state=state,
                seconds_per_question=(
                    timed_probe(stage, min(probe, stage.questions), shard_threads) if timed else None
                ),
                shards=workers if stage.run_shard is not None else 1,
            )
        )
    return planned


def plan_markdown(planned: list[PlannedStage], *, machine: str) -> str:
    lines = [
        f"Plan on {machine} (seconds per question timed on a few questions of each stage, with a "
        "shard worker's threads where it shards; a stage that reads another's records is timed once "
        "they exist; a learning stage (the static race, the router's training) is not timed, so the "
        "total leaves it out):",
        "",
        "| stage | questions | state | s / question | workers | estimate (min) |",
        "|---|---|---|---|---|---|",
    ]
    for stage in planned:
        timed = "–" if stage.seconds_per_question is None else f"{stage.seconds_per_question:.2f}"
        lines.append(
            f"| {stage.name} | {stage.questions} | {stage.state} | {timed} | {stage.shards} | "
            f"{stage.estimate_seconds / 60:.1f} |"
        )
    total = sum(stage.estimate_seconds for stage in planned) / 60
    lines.append(f"| **total** | | | | | **{total:.1f}** |")
    return "\n".join(lines) + "\n"
