"""cola: run a pretrained causal LM under any chain of its layers (skipped, repeated, reordered)."""

from cola.cache import ChainCache
from cola.chain import Chain, format_chain, full_chain, parse_chain, validate_chain
from cola.composer import ChainModel
from cola.families import FAMILIES, family_for
from cola.generation import greedy_generate
from cola.loading import LoadedModel, load_model

__all__ = [
    "FAMILIES",
    "Chain",
    "ChainCache",
    "ChainModel",
    "LoadedModel",
    "family_for",
    "format_chain",
    "full_chain",
    "greedy_generate",
    "load_model",
    "parse_chain",
    "validate_chain",
]
