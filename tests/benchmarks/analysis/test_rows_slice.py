"""Shards of one run merge into one records file in row order, their settings checked."""

from __future__ import annotations

import gzip
import json
import sys

import pytest

from benchmarks.analysis.fresh_rows import row_positions
from scripts.studies import rows_slice


def shard_run(folder, records, index, count=2, **run):
    folder.mkdir()
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    settings = {"task": {"benchmark": "arc_easy"}, "run": {"shard_index": index, "shard_count": count} | run}
    (folder / "run_settings.json").write_text(json.dumps(settings))
    return folder


def test_shards_merge_in_row_order_with_their_indices_listed(tmp_path, monkeypatch):
    ids = sorted(row_positions("arc_easy", "train"), key=row_positions("arc_easy", "train").get)[:6]
    records = [{"id": q, "benchmark": "arc_easy", "split": "train", "row": n} for n, q in enumerate(ids)]
    first = shard_run(tmp_path / "s0", records[0::2], 0)
    second = shard_run(tmp_path / "s1", records[1::2], 1)
    out = tmp_path / "merged.jsonl.gz"
    monkeypatch.setattr(
        sys, "argv", ["rows_slice", str(second), str(first), "--first", "0", "--last", "6", "--out", str(out)]
    )
    rows_slice.main()
    with gzip.open(out, "rt") as handle:
        assert [json.loads(line)["row"] for line in handle] == list(range(6))
    settings = json.loads((tmp_path / "merged.run_settings.json").read_text())
    assert settings["run"]["shard_index"] == [0, 1]


def test_shards_of_different_runs_or_a_missing_shard_are_refused(tmp_path):
    first = shard_run(tmp_path / "a", [], 0, model="x")
    other = shard_run(tmp_path / "b", [], 1, model="y")
    with pytest.raises(ValueError, match="differ in more than their shard index"):
        rows_slice.merged_settings([first, other])
    lone = shard_run(tmp_path / "c", [], 0, count=3, model="x")
    again = shard_run(tmp_path / "d", [], 1, count=3, model="x")
    with pytest.raises(ValueError, match="not all 3 shards"):
        rows_slice.merged_settings([lone, again])
    with pytest.raises(FileNotFoundError, match="no run_settings.json"):
        rows_slice.merged_settings([tmp_path / "missing"])


def test_a_slice_to_the_end_must_hold_every_row_once(tmp_path, monkeypatch):
    ids = sorted(row_positions("arc_easy", "train"), key=row_positions("arc_easy", "train").get)
    first = len(ids) - 4
    tail = [{"id": q, "benchmark": "arc_easy", "split": "train"} for q in ids[first:]]
    cases = {
        "short": ([tail[:1], tail[2:]], "holds 3 of the 4 rows"),
        "twice": ([tail[:3], tail[2:]], "holds a question twice"),
    }
    for name, (shards, message) in cases.items():
        runs = [str(shard_run(tmp_path / f"{name}{i}", records, i)) for i, records in enumerate(shards)]
        out = tmp_path / f"{name}.jsonl.gz"
        monkeypatch.setattr(sys, "argv", ["rows_slice", *runs, "--first", str(first), "--out", str(out)])
        with pytest.raises(SystemExit, match=message):
            rows_slice.main()
        assert not out.exists()
