"""The package layout rules hold: import arrows run one way, functions stay short."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cola
import search

ROOT = Path(__file__).resolve().parents[1]


def test_layout_rules_hold():
    checked = subprocess.run(
        [sys.executable, str(ROOT / "scripts/check_layout.py")], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout
    assert "search -> (nothing watched)" in checked.stdout


def test_search_and_cola_name_the_same_chain_type():
    assert search.Chain == cola.Chain == tuple[int, ...]
