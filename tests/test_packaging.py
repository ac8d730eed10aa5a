"""``pip install`` of the project gives working console commands outside the checkout.

The slow test builds a fresh virtual environment in a temporary folder, installs the project into
it from a wheel built from the local source (offline: no index, dependencies taken from the running environment by a
path entry), and runs every command from a folder outside the checkout: ``--help``, one tiny-model
evaluation with the packaged configs, and the table of that run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import tomllib

from tests.benchmarks.runs.test_search_run import ARC_PATH

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
COMMANDS = sorted(PYPROJECT["project"]["scripts"])


def test_every_module_folder_is_a_listed_package():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    folders = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for package in ("cola", "search", "benchmarks")
        for path in (ROOT / package).rglob("*.py")
    }
    assert folders <= listed, f"not installed: {sorted(folders - listed)}"
    assert "benchmarks.conf" in listed  # the Hydra configs ship with the commands


def run(command: list, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"} | {"OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, check=False, **kwargs)
    assert done.returncode == 0, f"{command}: {done.stderr[-2000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh environment with the project installed from the local source; its bin folder."""
    home = tmp_path_factory.mktemp("fresh")
    run([sys.executable, "-m", "venv", str(home / "env")], cwd=home)
    env_python = home / "env/bin/python"
    purelib = run(
        [str(env_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=home
    )
    # The dependencies (torch, transformers, ...) come from this environment by a plain path entry:
    # its .pth files (the checkout's editable install among them) are not read from there.
    Path(purelib.stdout.strip(), "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # The wheel is built from the local source by this environment's setuptools (the fresh one's
    # bundled setuptools may predate building wheels), then installed as a user would install it.
    wheels = home / "wheels"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        cwd=home,
        timeout=600,
    )
    (wheel,) = wheels.glob("cola-*.whl")
    run(
        [str(env_python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
        cwd=home,
        timeout=600,
    )
    return home / "env/bin"


@pytest.mark.slow
def test_the_commands_run_outside_the_checkout(installed, tmp_path, tiny_checkpoint):
    where = run(
        [str(installed / "python"), "-c", "import benchmarks.cli; print(benchmarks.cli.conf_dir())"],
        cwd=tmp_path,
    )
    assert not where.stdout.strip().startswith(str(ROOT)), (
        "the checkout, not the installed copy, was imported"
    )
    assert Path(where.stdout.strip(), "evaluate.yaml").is_file()
    for command in COMMANDS:
        if command != "cola-lm-eval":  # needs the optional lm-eval
            shown = run([str(installed / command), "--help"], cwd=tmp_path).stdout
            # argparse's usage, or Hydra's help listing the packaged config groups
            assert shown.startswith("usage:") or "model: gemma3_270m, smollm2" in shown, shown[:500]
    run(
        [
            str(installed / "cola-evaluate"),
            f"model.spec={tiny_checkpoint}",
            "benchmark=arc_easy",
            f"benchmark.path={ARC_PATH}",
            "limit=3",
            "threads=1",
            "chain=0,0,1",
            "hydra.run.dir=run",
        ],
        cwd=tmp_path,
    )
    summary = json.loads((tmp_path / "run/summary.json").read_text())
    assert summary["n"] == 3 and summary["chain"] == "0,0-1"
    table = run([str(installed / "cola-tables"), "accuracy", "run"], cwd=tmp_path).stdout
    assert table.splitlines()[2].count("|") == 9 and "| 3 |" in table
