"""Paths as committed files record them."""

from __future__ import annotations

from pathlib import Path

from benchmarks.results import recorded_path


def test_a_recorded_path_is_relative_to_the_working_directory_when_under_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert recorded_path(tmp_path / "outputs" / "policy.safetensors") == "outputs/policy.safetensors"
    assert recorded_path("outputs/run") == "outputs/run"  # relative paths stay as given
    outside = Path("/elsewhere/run")
    assert recorded_path(outside) == "/elsewhere/run"  # nothing to make it relative to
