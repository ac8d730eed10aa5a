"""The device check on the CPU: every float32 check passes on every family, bfloat16 divergences
are recorded, the CUDA part says why it skipped, and the engine bench runs on a cut-down shape."""

from __future__ import annotations

import json

import pytest
import torch

from benchmarks.benches.device_check import (
    CheckRow,
    device_checks,
    engine_bench,
    first_divergence,
    judged,
)
from cola.tiny_models import FAMILY_NAMES
from tests.benchmarks.runs.test_search_run import script


def test_outputs_are_compared_by_where_they_first_differ():
    assert first_divergence([1, 2, 3], [1, 2, 3]) is None
    assert first_divergence([1, 2, 3], [1, 5, 3]) == 1
    assert first_divergence([1, 2], [1, 2, 3]) == 2
    assert judged("c", "m", "cpu", "float32", [1, 2], [1, 3], "").passed is False
    assert judged("c", "m", "cpu", "bfloat16", [1, 2], [1, 3], "").passed is None  # recorded only


def test_every_float32_check_passes_on_every_family_on_the_cpu():
    rows = device_checks("cpu", bench_shape=None)
    assert len(rows) == len(FAMILY_NAMES) * 6 * 2  # identity, 3 chains, lanes, speculative; 2 dtypes
    assert all(row.passed for row in rows if row.dtype == "float32"), [r for r in rows if not r.passed]
    assert all(row.passed for row in rows if row.check.startswith("identity"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the check runs there instead")
def test_without_cuda_the_cuda_part_says_why_it_skipped():
    (row,) = device_checks("cuda")
    assert row == CheckRow("all", "-", "cuda", "-", "skipped", None, "no CUDA device here")


def test_the_engine_bench_runs_on_a_cut_down_shape():
    row = engine_bench("llama-1b", "cpu", chains=2, new_tokens=2, layers=2)
    assert row.check == "search bench: naive vs engine" and "naive" in row.value and "engine" in row.value


def test_the_script_writes_its_table_and_records(tmp_path):
    done = script("device_check.py", "--device", "cpu", "--no-bench", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    saved = json.loads((tmp_path / "device_check-cpu.json").read_text())
    assert len(saved["rows"]) == len(FAMILY_NAMES) * 12 and "torch" in saved["header"]
    assert (tmp_path / "device_check-cpu.md").read_text().count("| pass |") >= len(FAMILY_NAMES) * 7
