"""Turning plain config values (what a script's Hydra config holds) into library objects."""

from __future__ import annotations

import os

import torch

from benchmarks.tasks import TaskConfig
from cola import ChainModel, LoadedModel, full_chain, load_model, parse_chain

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def set_threads(threads: int | None, *, workers: int = 1) -> int:
    """Share the cores among ``workers`` processes: oversubscription slows a forward ~8x here."""
    count = threads or max(1, (os.cpu_count() or 1) // workers)
    torch.set_num_threads(count)
    return count


def open_model(model_cfg: dict) -> tuple[LoadedModel, ChainModel]:
    dtype = model_cfg.get("dtype", "float32")
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPES)}")
    loaded = load_model(model_cfg["spec"], dtype=DTYPES[dtype], device=model_cfg.get("device", "cpu"))
    return loaded, ChainModel(loaded.model)


def task_from_config(benchmark_cfg: dict) -> TaskConfig:
    fields = dict(benchmark_cfg)
    fields["benchmark"] = fields.pop("name")
    return TaskConfig(**fields)


def chain_from_text(text: str | None, n_layers: int) -> tuple[int, ...]:
    return full_chain(n_layers) if text in (None, "", "full") else parse_chain(str(text), n_layers)


def search_config_from(search_cfg: dict):
    from search import EditConfig, SearchConfig, StopRule

    return SearchConfig(
        simulations=search_cfg["simulations"],
        exploration=search_cfg["exploration"],
        length_penalty=search_cfg["length_penalty"],
        random_prob=search_cfg["random_prob"],
        max_random_edits=search_cfg["max_random_edits"],
        edits=EditConfig(
            skip_sizes=tuple(search_cfg["skip_sizes"]),
            repeat=search_cfg["repeat"],
            max_length_factor=search_cfg["max_length_factor"],
        ),
        stop=StopRule(enabled=search_cfg["early_stop"], min_saving=search_cfg["min_saving"]),
    )


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
