"""A stage's questions split over workers (processes on one machine through joblib, or a SLURM job
array through submitit) and merged back, checked: each
worker loads the model itself and runs its shard (every n-th question) into ``shard<i>/`` of the
stage's folder, resuming what is there; the merge refuses shards of other settings and a merged
count other than the stage's questions. A stage keeps the worker count it started with."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from joblib import Parallel, delayed

from benchmarks.results import ResultsLog, claim_run_dir, shard_settings, write_json

SHARDS_FILE = "shards.json"
LAUNCHERS = ("joblib", "slurm", "submitit-local")


def shard_folders(folder: Path, workers: int) -> list[Path]:
    return [folder / f"shard{index}" for index in range(workers)]


def claim_workers(folder: Path, workers: int) -> None:
    """Record the worker count a stage starts with; refuse to resume it with another."""
    path = folder / SHARDS_FILE
    if path.is_file():
        started = json.loads(path.read_text())["workers"]
        if started != workers:
            raise ValueError(f"{folder.name} was started with audit.workers={started}; resume it with that")
    elif (folder / "results.jsonl").is_file() and workers > 1:
        raise ValueError(f"{folder.name} was started with audit.workers=1; resume it with that")
    else:
        write_json(path, {"workers": workers})


def run_sharded(
    name: str,
    folder: Path,
    workers: int,
    worker: Callable[[str, int, int], None],
    *,
    launcher: str = "joblib",
) -> None:
    """``worker(stage name, index, count)`` for every shard: processes on this machine (joblib), jobs
    of a SLURM array (submitit), or submitit's local executor (what tests run)."""
    if launcher not in LAUNCHERS:
        raise ValueError(f"unknown launcher {launcher!r}; choose from {', '.join(LAUNCHERS)}")
    claim_workers(folder, workers)
    indices = list(range(workers))
    if launcher == "joblib":
        Parallel(n_jobs=workers, backend="loky")(delayed(worker)(name, index, workers) for index in indices)
        return
    import submitit  # the slurm extra: pip install -e ".[slurm]"

    cluster = "local" if launcher == "submitit-local" else "slurm"
    executor = submitit.AutoExecutor(folder=folder / "submitit", cluster=cluster)
    executor.update_parameters(timeout_min=24 * 60, name=f"cola-{name}")
    jobs = executor.map_array(worker, [name] * workers, indices, [workers] * workers)
    for job in jobs:
        job.result()  # raises the shard's own error, with its log's path


def merge_records(shards: list[Path], folder: Path, expected: int) -> int:
    """Every shard's records into ``folder/results.jsonl`` (each question once); the count checked."""
    common, _, _ = shard_settings(shards)  # shards of other settings refused
    claim_run_dir(folder, common | {"merged_shards": len(shards)})
    merged = ResultsLog(folder / "results.jsonl")
    for shard in shards:
        for record in ResultsLog(shard / "results.jsonl").records:
            if record["id"] not in merged:
                merged.append(record)
    if len(merged.records) != expected:
        raise ValueError(f"{folder.name}: the shards hold {len(merged.records)} questions, not {expected}")
    return len(merged.records)
