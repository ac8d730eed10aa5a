"""Write a chain as a standalone Hugging Face model: the chain's layers in order, weights copied.

The result is an ordinary ``*ForCausalLM`` with ``len(chain)`` layers (a repeated layer's weights
are duplicated) and a config whose per-layer attention types follow the chain, so plain
``AutoModelForCausalLM.from_pretrained`` loads it without ``cola`` — mergekit's "passthrough"
merge, produced from a searched chain.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path

import torch

from cola.chain import format_chain, validate_chain
from cola.families import family_for, layer_types

LAYER_PREFIX = "model.layers."


def chain_config(config, chain: tuple[int, ...]):
    """A copy of ``config`` for a model whose layer ``step`` is the original ``chain[step]``."""
    kinds = layer_types(config)
    new = copy.deepcopy(config)
    new.num_hidden_layers = len(chain)
    if getattr(config, "layer_types", None) is not None:
        new.layer_types = [kinds[layer_idx] for layer_idx in chain]
    new.cola_chain = format_chain(chain)  # provenance, saved into config.json
    return new


def chain_state_dict(state_dict: dict[str, torch.Tensor], chain: tuple[int, ...]) -> dict[str, torch.Tensor]:
    """Rename ``model.layers.{chain[s]}.*`` to ``model.layers.{s}.*``; copy repeated layers' tensors."""
    by_layer: dict[int, dict[str, torch.Tensor]] = {}
    result = {}
    for name, tensor in state_dict.items():
        if name.startswith(LAYER_PREFIX):
            index, rest = name[len(LAYER_PREFIX) :].split(".", 1)
            by_layer.setdefault(int(index), {})[rest] = tensor
        else:
            result[name] = tensor
    seen: set[int] = set()
    for step, layer_idx in enumerate(chain):
        for rest, tensor in by_layer[layer_idx].items():
            # Separate storage per step: safetensors refuses shared tensors, and the copies are
            # meant to be independent weights from here on.
            result[f"{LAYER_PREFIX}{step}.{rest}"] = tensor.clone() if layer_idx in seen else tensor
        seen.add(layer_idx)
    return result


@torch.no_grad()
def materialize(model: torch.nn.Module, chain: Iterable[int]) -> torch.nn.Module:
    """A new model whose forward equals ``ChainModel(model).forward(..., chain)``; ``model`` is untouched."""
    from transformers import AutoModelForCausalLM

    family_for(model.config)
    chain = validate_chain(chain, model.config.num_hidden_layers)
    config = chain_config(model.config, chain)
    dtype = next(model.parameters()).dtype
    with torch.device("meta"):
        new = AutoModelForCausalLM.from_config(
            config, dtype=dtype, attn_implementation=model.config._attn_implementation
        )
    state = chain_state_dict(model.state_dict(), chain)
    new.load_state_dict(state, strict=True, assign=True)
    if getattr(config, "tie_word_embeddings", False):
        new.tie_weights()
    new.generation_config = copy.deepcopy(model.generation_config)
    return new.eval()


def save_materialized(model: torch.nn.Module, tokenizer, chain: Iterable[int], directory: str | Path) -> Path:
    """Materialize ``chain`` and save it with the tokenizer as a plain safetensors checkpoint."""
    directory = Path(directory)
    new = materialize(model, chain)
    new.save_pretrained(directory)
    if tokenizer is not None:
        tokenizer.save_pretrained(directory)
    return directory
