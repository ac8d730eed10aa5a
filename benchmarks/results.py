"""Append-only JSONL results that survive ``kill -9``: a rerun skips what is already written.

Each record is written as one line and fsynced before the next example starts, so a crash loses at
most the example in flight. A torn last line (the crash hit mid-write) is cut off on reopen.

A run directory also keeps the settings that decide its records (``run_settings.json``): a
restart with other settings is refused before anything is written (:func:`claim_run_dir`), so
records of one setting never go out under another's label.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)


class ResultsLog:
    """Records keyed by ``record[key]``; the first record for a key wins."""

    def __init__(self, path: str | Path, *, key: str = "id"):
        self.path = Path(path)
        self.key = key
        self.records: list[dict] = []
        self.done: set[str] = set()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        good_bytes = 0
        with self.path.open("rb") as handle:
            for raw in handle:
                try:
                    record = json.loads(raw)
                except json.JSONDecodeError:
                    logger.warning("dropping a torn line at byte %d of %s", good_bytes, self.path)
                    break
                if not raw.endswith(b"\n"):
                    break  # complete JSON but no newline: the write was cut; redo it
                good_bytes += len(raw)
                self._remember(record)
        if good_bytes != self.path.stat().st_size:
            with self.path.open("r+b") as handle:
                handle.truncate(good_bytes)

    def _remember(self, record: dict) -> None:
        if record[self.key] not in self.done:
            self.done.add(record[self.key])
            self.records.append(record)

    def __contains__(self, key: str) -> bool:
        return key in self.done

    def append(self, record: dict) -> None:
        if record[self.key] in self.done:
            raise ValueError(f"duplicate result for {self.key}={record[self.key]!r} in {self.path}")
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self._remember(record)


def write_json(path: str | Path, payload: dict) -> None:
    """Write ``payload`` atomically (temp file + rename), so a summary is never half written."""
    path = Path(path)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    temporary.replace(path)


def file_sha256(path: str | Path, what: str) -> str:
    """The sha256 of a file a run reads (a prior, a policy), refused with ``what`` named if missing."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"{what} file not found: {file}")
    return hashlib.sha256(file.read_bytes()).hexdigest()


SETTINGS_FILE = "run_settings.json"


class SettingsMismatch(ValueError):
    """A run directory holds records made with other settings."""


def _flat(settings: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat |= _flat(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def settings_changes(stored: dict, now: dict) -> str:
    """Every key whose value differs, as ``seed: 0 -> 1; ...`` (nested keys dotted); "" when none."""
    stored, now = _flat(stored), _flat(now)
    differing = [key for key in sorted(stored.keys() | now.keys()) if stored.get(key) != now.get(key)]
    return "; ".join(f"{key}: {stored.get(key)!r} -> {now.get(key)!r}" for key in differing)


def shard_settings(shards: list[Path]) -> tuple[dict, list[int | None], int | None]:
    """Shards of one run: their common settings without the shard fields (a search run's ``shard``,
    an exit run's ``run.shard_index`` and ``run.shard_count``), each shard's index, and the shard
    count; refused when a shard has no settings or differs in more than its shard index."""
    common, indices, count = None, [], None
    for shard in shards:
        path = Path(shard) / SETTINGS_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no {SETTINGS_FILE} in {shard}")
        settings = json.loads(path.read_text())
        index, count = settings.pop("shard", [None, count])
        if isinstance(settings.get("run"), dict):
            run = dict(settings["run"])
            index, count = run.pop("shard_index", index), run.pop("shard_count", count)
            settings["run"] = run
        if common is None:
            common = settings
        elif changes := settings_changes(common, settings):
            raise SettingsMismatch(
                f"the runs {', '.join(map(str, shards))} differ in more than their shard index ({changes})"
            )
        indices.append(index)
    return common, indices, count


def claim_run_dir(output_dir: str | Path, settings: dict) -> None:
    """Record ``settings`` in a new run directory, or check them against the recorded ones.

    Raises :class:`SettingsMismatch` naming every differing key, and changes nothing, when the
    directory holds another run's settings, or results with no settings recorded.
    """
    output_dir = Path(output_dir)
    path = output_dir / SETTINGS_FILE
    settings = json.loads(json.dumps(settings))  # tuples as lists, as they are stored
    if not path.is_file():
        if any(output_dir.glob("*.jsonl")):
            raise SettingsMismatch(f"{output_dir} holds results but no {SETTINGS_FILE}; use a new directory")
        output_dir.mkdir(parents=True, exist_ok=True)
        write_json(path, settings)
        return
    if changes := settings_changes(json.loads(path.read_text()), settings):
        raise SettingsMismatch(
            f"{output_dir} holds a run with other settings ({changes}); use another directory or those settings"
        )


def write_derived_run(output_dir: str | Path, settings: dict, records: list[dict]) -> dict:
    """A run folder of records derived from another run's without a forward pass (a calibration's,
    a smaller ensemble's): its settings claimed as any run's, then each record not yet there."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    claim_run_dir(output_dir, settings)
    log = ResultsLog(output_dir / "results.jsonl")
    for record in records:
        if record["id"] not in log.done:
            log.append(record)
    accuracy = sum(record["correct"] for record in records) / len(records) if records else None
    return {"n": len(records), "accuracy": accuracy, "out": str(output_dir)}


def recorded_path(path: str | Path) -> str:
    """A path as a committed file should hold it: relative to the working directory when it lies
    under it (runs are started from the repository), else as given. A machine's absolute paths
    in a committed record name nothing on another machine."""
    path = Path(path)
    if path.is_absolute():
        try:
            return str(path.resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            return str(path)
    return str(path)


def load_records(path: Path) -> list[dict]:
    """A run's records: its directory's results.jsonl, or a records file as committed under
    docs/results (``.jsonl`` or gzip-compressed ``.jsonl.gz``)."""
    if path.is_dir():
        path = path / "results.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"no search records at {path}")
    if path.suffix == ".gz":
        with gzip.open(path, "rt") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    return ResultsLog(path).records
