"""A chain's mergekit recipe checked by mergekit itself: ``mergekit-yaml`` (installed in an environment
of its own, so that it cannot replace the pinned torch) builds the recipe's checkpoint, which is then
compared with ``materialize.py``'s checkpoint of the same chain tensor by tensor, and by next-token
logits against both that checkpoint and cola's own forward pass of the chain."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from cola import ChainModel

WEIGHTS = "model.safetensors"


def build_with_mergekit(mergekit_yaml: Path, recipe: Path, out: Path, threads: int = 1) -> float:
    """Run ``mergekit-yaml recipe out``; the seconds it took. A failed build raises with its output."""
    if not Path(mergekit_yaml).is_file():
        raise FileNotFoundError(f"{mergekit_yaml} not found: run scripts/setup_mergekit.sh first")
    start = time.perf_counter()
    done = subprocess.run(
        [str(mergekit_yaml), str(recipe), str(out), "--copy-tokenizer", "--clone-tensors"],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": str(threads)},
    )
    if done.returncode != 0:
        raise RuntimeError(f"mergekit-yaml failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def compare_tensors(built: Path, reference: Path) -> dict:
    """Tensor by tensor: names on each side alone, shapes or dtypes that differ, values not equal."""
    ours, theirs = load_file(reference / WEIGHTS), load_file(built / WEIGHTS)
    shared = sorted(set(ours) & set(theirs))
    unequal = [
        name
        for name in shared
        if ours[name].shape != theirs[name].shape
        or ours[name].dtype != theirs[name].dtype
        or not torch.equal(ours[name], theirs[name])
    ]
    return {
        "tensors": len(shared),
        "only_materialized": sorted(set(ours) - set(theirs)),
        "only_mergekit": sorted(set(theirs) - set(ours)),
        "unequal": unequal,
        "equal": not unequal and set(ours) == set(theirs),
    }


def attention_types(directory: Path) -> list[str] | None:
    return json.loads((directory / "config.json").read_text()).get("layer_types")


@torch.inference_mode()
def next_logits(model, prompts: list[list[int]]) -> list[torch.Tensor]:
    return [model(torch.tensor([ids])).logits[0, -1].float() for ids in prompts]


@torch.inference_mode()
def compare_logits(
    built_model, reference_model, chain_model: ChainModel, chain: tuple[int, ...], prompts: list[list[int]]
) -> dict:
    """Largest next-token logit difference of mergekit's checkpoint against materialize's and against
    cola's forward pass of the chain, and whether the top token agrees on every prompt."""
    built = next_logits(built_model, prompts)
    materialized = next_logits(reference_model, prompts)
    cola_logits = [chain_model(torch.tensor([ids]), chain)[0, -1].float() for ids in prompts]
    return {
        "prompts": len(prompts),
        "max_abs_vs_materialized": max(
            float((a - b).abs().max()) for a, b in zip(built, materialized, strict=True)
        ),
        "max_abs_vs_cola": max(float((a - b).abs().max()) for a, b in zip(built, cola_logits, strict=True)),
        "top_token_equal": all(
            int(a.argmax()) == int(b.argmax()) for a, b in zip(built, cola_logits, strict=True)
        ),
    }
