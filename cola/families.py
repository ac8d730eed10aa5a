"""The per-family adapter table: everything the composer must know that differs by family.

Keyed by ``config.model_type``. Differences that transformers already hides inside a decoder
layer (Qwen3's q/k norms, Gemma3's extra norms and query scaling) need no entry here; only what
the model-level forward does between layers does.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

FULL_ATTENTION = "full_attention"
SLIDING_ATTENTION = "sliding_attention"


@dataclass(frozen=True)
class Family:
    """What the composer must do differently for one ``model_type``."""

    model_type: str
    # Gemma3 keeps one rotary table per layer type (local base 10k, global base 1M) and its
    # rotary module takes the layer type as an argument (transformers models/gemma3).
    rotary_per_layer_type: bool = False
    # Gemma3 squashes final logits with tanh soft-capping (config.final_logit_softcapping).
    final_logit_softcapping: bool = False


FAMILIES: dict[str, Family] = {
    "llama": Family("llama"),
    "mistral": Family("mistral"),
    "qwen2": Family("qwen2"),
    "qwen3": Family("qwen3"),
    "gemma3_text": Family("gemma3_text", rotary_per_layer_type=True, final_logit_softcapping=True),
}


def family_for(config) -> Family:
    """The adapter for a model config, or a ``ValueError`` listing the supported families."""
    model_type = getattr(config, "model_type", None)
    if model_type not in FAMILIES:
        supported = ", ".join(sorted(FAMILIES))
        raise ValueError(f"unsupported model family {model_type!r}; supported: {supported}")
    return FAMILIES[model_type]


# How a decoder layer's forward names its KV cache argument, newest first: transformers 5.24 renamed
# ``past_key_values`` to ``cache`` (the old name warns, and goes in 5.40). 5.0-5.23 take
# ``past_key_values``; passing ``cache`` there would vanish into ``**kwargs`` and leave the cache
# silently unused, so the name is read from the installed layer's signature, never assumed.
CACHE_KEYWORDS = ("cache", "past_key_values")


def cache_keyword(layer_class: type) -> str:
    """The keyword the installed ``layer_class.forward`` takes its KV cache by."""
    parameters = inspect.signature(layer_class.forward).parameters
    for name in CACHE_KEYWORDS:
        if name in parameters:
            return name
    raise ValueError(
        f"{layer_class.__name__}.forward takes its KV cache by none of {CACHE_KEYWORDS} "
        f"(parameters: {', '.join(parameters)}); this transformers is outside cola's tested range"
    )


def layer_types(config) -> tuple[str, ...]:
    """Attention kind of every original layer: ``full_attention`` or ``sliding_attention``.

    Families with alternating layers (Qwen2/3, Gemma3) list them in ``config.layer_types``;
    Mistral has none and slides on every layer whenever ``config.sliding_window`` is set.
    """
    n_layers = config.num_hidden_layers
    declared = getattr(config, "layer_types", None)
    if declared is not None:
        kinds = tuple(declared)[:n_layers]
    else:
        kind = SLIDING_ATTENTION if getattr(config, "sliding_window", None) else FULL_ATTENTION
        kinds = (kind,) * n_layers
    unknown = set(kinds) - {FULL_ATTENTION, SLIDING_ATTENTION}
    if unknown:
        raise ValueError(f"unsupported attention layer types {sorted(unknown)} in {config.model_type} config")
    return kinds
