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
