"""The console commands (``cola-search``, ``cola-evaluate``, ...): the user's tools, installed by
``pip install``; ``scripts/`` holds thin wrappers of the same functions so a checkout runs them too.

May import every room; nothing but ``scripts/`` imports a command. The Hydra configs ship inside
the package (``benchmarks/conf`` in an installed wheel, ``conf/`` at the top of a checkout).
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def conf_dir() -> str:
    """The Hydra config folder: the checkout's ``conf/`` when the package is a checkout's (its
    pyproject beside it), else the copy installed with the package."""
    checkout = _HERE.parents[1]
    if (checkout / "pyproject.toml").is_file() and (checkout / "conf").is_dir():
        return str(checkout / "conf")
    return str(_HERE.parent / "conf")


def conf_file(path: str | None) -> str | None:
    """A config's ``conf/...`` file (a prior, a matched temperature) where the user runs the command:
    as written when it exists from here (a checkout, or the user's own file), else the packaged copy.
    The written form is kept where it exists, so run settings recorded in a checkout stay as they were."""
    if path is None or Path(path).exists() or not str(path).startswith("conf/"):
        return path
    packaged = Path(conf_dir(), str(path).removeprefix("conf/"))
    return str(packaged) if packaged.exists() else path


def resolve_search_files(search_cfg) -> None:
    """A search config's ``conf/`` files (its edit prior, its matched temperature) as
    :func:`conf_file` finds them, in place."""
    for key in ("prior_file", "temperature_file"):
        if search_cfg.get(key) is not None:
            search_cfg[key] = conf_file(search_cfg[key])
