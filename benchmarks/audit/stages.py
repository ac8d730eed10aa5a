"""A stage of the audit and the loop that runs stages in order: a finished stage with the same
settings is skipped, one whose settings changed is refused, an interrupted one resumes (each stage
writes through a resumable run, and its marker is written only once it has finished)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.audit.shards import claim_workers, run_sharded, shard_folders
from benchmarks.results import settings_changes, write_json

logger = logging.getLogger(__name__)

STAGE_FILE = "stage.json"
SKIPPED_FILE = "skipped.json"  # a stage that could not run on these inputs says why here


class StageSettingsChanged(ValueError):
    """A stage's folder holds a finished stage of other settings."""


@dataclass(frozen=True)
class Stage:
    """One step of the audit. ``run(folder, limit)`` writes the stage's records into ``folder``,
    resuming what is there; ``limit`` (None: the stage's own count) lets the plan time a few
    questions in a scratch folder. ``questions`` = 0 marks a stage that reads records only."""

    name: str
    settings: dict
    run: Callable[[Path, int | None], None]
    questions: int = 0
    needs: tuple[str, ...] = field(default=())
    # a stage whose questions can be split: run_shard(folder, index, count) runs every count-th
    # question into folder; merge(shard folders, stage folder) gathers them (checked)
    run_shard: Callable[[Path, int, int], None] | None = None
    merge: Callable[[list[Path], Path], None] | None = None
    # False where run() learns on the whole split whatever the limit (the plan cannot time a few
    # questions of it)
    timed: bool = True


def recorded_changes(stage: Stage, root: Path) -> str:
    """How a finished stage's recorded settings differ from ``stage``'s ("" when they do not, or
    when the stage has not finished)."""
    marker = root / stage.name / STAGE_FILE
    if not marker.is_file():
        return ""
    return settings_changes(
        json.loads(marker.read_text())["settings"], json.loads(json.dumps(stage.settings))
    )


def stage_state(stage: Stage, root: Path) -> str:
    """'done' (finished), 'partial' (started) or 'new'; whether a finished stage's settings changed
    is :func:`refuse_changed`'s to say, before any state is read."""
    if (root / stage.name / STAGE_FILE).is_file():
        return "done"
    return "partial" if (root / stage.name).is_dir() else "new"


def refuse_changed(stages: list[Stage], root: Path) -> None:
    """One error naming every finished stage whose settings changed (before any work)."""
    changed = [f"{stage.name} ({changes})" for stage in stages if (changes := recorded_changes(stage, root))]
    if changed:
        raise StageSettingsChanged(
            f"{root} holds finished stages of other settings: {'; '.join(changed)}; "
            "use another audit folder or those settings"
        )


def check_order(stages: list[Stage]) -> None:
    seen: set[str] = set()
    for stage in stages:
        if missing := [need for need in stage.needs if need not in seen]:
            raise ValueError(f"stage {stage.name!r} needs {missing}, which do not run before it")
        if stage.name in seen:
            raise ValueError(f"two stages are named {stage.name!r}")
        seen.add(stage.name)


def run_stage(
    stage: Stage, root: Path, workers: int, worker: Callable[[str, int, int], None] | None, launcher: str
) -> None:
    folder = root / stage.name
    folder.mkdir(parents=True, exist_ok=True)
    if workers > 1 and stage.run_shard is not None and worker is not None:
        run_sharded(stage.name, folder, workers, worker, launcher=launcher)
        stage.merge(shard_folders(folder, workers), folder)
    else:
        claim_workers(folder, 1)
        stage.run(folder, None)


def run_stages(
    stages: list[Stage],
    root: Path,
    *,
    workers: int = 1,
    worker: Callable[[str, int, int], None] | None = None,
    launcher: str = "joblib",
    report: Callable[[str], None] = logger.info,
) -> dict:
    """Run every stage not yet done, in order (a shardable one over ``workers`` processes, each
    running ``worker(stage name, index, count)``); returns each stage's seconds (None: skipped)."""
    check_order(stages)
    refuse_changed(stages, root)  # before any work
    states = {stage.name: stage_state(stage, root) for stage in stages}
    seconds = {}
    for stage in stages:
        if states[stage.name] == "done":
            report(f"{stage.name}: done before, skipped")
            seconds[stage.name] = None
            continue
        report(f"{stage.name}: {'resuming' if states[stage.name] == 'partial' else 'running'}")
        start = time.perf_counter()
        run_stage(stage, root, workers, worker, launcher)
        seconds[stage.name] = round(time.perf_counter() - start, 2)
        write_json(
            root / stage.name / STAGE_FILE, {"settings": stage.settings, "seconds": seconds[stage.name]}
        )
    return seconds
