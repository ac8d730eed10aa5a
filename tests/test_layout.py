"""The package layout rules hold: import arrows run one way, functions stay short."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import cola
import search

ROOT = Path(__file__).resolve().parents[1]


def test_layout_rules_hold():
    checked = subprocess.run(
        [sys.executable, str(ROOT / "scripts/dev/check_layout.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout
    assert "search -> (nothing watched)" in checked.stdout


def test_search_and_cola_name_the_same_chain_type():
    assert search.Chain == cola.Chain == tuple[int, ...]


def layout_checker():
    """scripts/dev/check_layout.py as a module (it is a script, not a package module)."""
    sys.path.insert(0, str(ROOT / "scripts/dev"))
    try:
        import check_layout
    finally:
        sys.path.pop(0)
    return check_layout


def test_room_rules_flag_an_arrow_against_the_flow():
    check_layout = layout_checker()
    graph = {
        "benchmarks.analysis.stats": {"benchmarks.reports.search_report"},
        "benchmarks.reports.search_report": {"benchmarks.analysis.stats"},
        "benchmarks.learners.calibration": {"benchmarks.runs.evaluate", "benchmarks.reports.policy_table"},
        "benchmarks.results": {"benchmarks.runs.search_run"},
        "benchmarks.analysis.cascade": {"benchmarks.cli"},  # a room's package itself is in the room
    }
    assert check_layout.room_problems(graph) == [
        "benchmarks.analysis.stats (analysis) imports benchmarks.reports.search_report (reports)",
        "benchmarks.learners.calibration (learners) imports benchmarks.reports.policy_table (reports)",
        "benchmarks.results (core) imports benchmarks.runs.search_run (runs)",
        "benchmarks.analysis.cascade (analysis) imports benchmarks.cli (cli)",
    ]


def test_relative_imports_are_flagged():
    check_layout = layout_checker()
    trees = {
        "benchmarks.runs.x": ast.parse(
            "from ..analysis import stats\nfrom benchmarks.analysis import stats\n"
        )
    }
    assert check_layout.relative_imports(trees) == [
        "benchmarks.runs.x has a relative import (from ..analysis import ...)"
    ]
