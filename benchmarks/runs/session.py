"""What every script does around its library call: threads, the model, the chain typed by the user;
the table it prints.

Settings objects (task, search, engine, study) are built by Hydra from ``_target_`` entries in
``conf/``; this module never imports Hydra.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from pathlib import Path

import torch

from cola import ChainModel, LoadedModel, full_chain, load_model, parse_chain

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def set_threads(threads: int | None, *, workers: int = 1) -> int:
    """Share the cores among ``workers`` processes: oversubscription slows a forward ~8x here."""
    count = threads or max(1, (os.cpu_count() or 1) // workers)
    torch.set_num_threads(count)
    return count


def open_model(*, spec: str, dtype: str = "float32", device: str = "cpu") -> tuple[LoadedModel, ChainModel]:
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPES)}")
    loaded = load_model(spec, dtype=DTYPES[dtype], device=device)
    return loaded, ChainModel(loaded.model)


def chain_from_text(text: str | None, n_layers: int) -> tuple[int, ...]:
    """``None`` (the config's default) or ``"full"`` is the full chain; an empty ``chain=`` is an error."""
    return full_chain(n_layers) if text is None or text == "full" else parse_chain(str(text), n_layers)


def check_chain_argument(text) -> None:
    """Refuse ``chain=`` / ``chain=""`` before the model loads (None, the default, means full)."""
    if text is not None and not str(text).strip():
        raise ValueError(
            "empty chain=: give a chain such as 0-9,9,10-29, or leave chain out for the full chain"
        )


USER_ERRORS = (ValueError, FileNotFoundError, KeyError, OSError)


def _user_error(error: BaseException) -> BaseException | None:
    """The user error behind ``error`` (Hydra wraps errors raised while instantiating settings)."""
    while error is not None:
        if isinstance(error, USER_ERRORS):
            return error
        error = error.__cause__
    return None


def exit_on_user_error(main):
    """Bad input ends a script with one line on stderr and exit status 2, not a traceback."""

    @functools.wraps(main)
    def wrapped(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except Exception as error:
            cause = _user_error(error)
            if cause is None:
                raise
            message = cause.args[0] if isinstance(cause, KeyError) and cause.args else cause
            print(f"error: {message}", file=sys.stderr)
            raise SystemExit(2) from None

    return wrapped


def named_value(text: str, form: str = "NAME=PATH") -> tuple[str, str]:
    """``NAME=VALUE`` from a command line (an argparse type), refused in ``form``'s words when
    either side is missing."""
    name, separator, value = text.partition("=")
    if not separator or not name or not value:
        raise argparse.ArgumentTypeError(f"expected {form}, got {text!r}")
    return name, value


def named_path(text: str) -> tuple[str, Path]:
    """``NAME=PATH`` from a command line (an argparse type)."""
    name, path = named_value(text)
    return name, Path(path)


def quote_chain_arguments(argv: list[str], keys: tuple[str, ...] = ("chain",)) -> list[str]:
    """Let ``chain=0-9,9,10-29`` through Hydra, whose override grammar reads commas as a sweep.

    Quotes the value of a ``chain=`` override unless it is quoted already or the run is a
    multirun (where a comma sweep may be meant).
    """
    if "-m" in argv or "--multirun" in argv:
        return argv
    quoted = []
    for argument in argv:
        key, sep, value = argument.partition("=")
        if sep and key in keys and "," in value and value[:1] not in "'\"[":
            argument = f"{key}='{value}'"
        quoted.append(argument)
    return quoted


def emit_table(table: str, out: Path | None) -> None:
    """Print a markdown table; also write it to ``out`` (its folder made) when one is given."""
    print(table, end="")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(table)


def shard_argument(text: str) -> tuple[int, int]:
    """``--shard INDEX/COUNT`` (an argparse type), refused unless 0 <= INDEX < COUNT."""
    index, sep, count = text.partition("/")
    if not sep or not index.isdigit() or not count.isdigit() or not 0 <= int(index) < int(count):
        raise argparse.ArgumentTypeError(f"--shard takes INDEX/COUNT with 0 <= INDEX < COUNT, got {text!r}")
    return int(index), int(count)
