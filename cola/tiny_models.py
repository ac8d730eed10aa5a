"""Random models built from configs, offline: a tiny one of each supported family (the tests'
references and the device check's) and the shapes of the larger models the lineage measured
(a Llama 3.2 1B and a Qwen 2.5 7B), for checks and benches on a machine without their weights."""

from __future__ import annotations

import torch
from transformers import (
    Gemma3ForCausalLM,
    Gemma3TextConfig,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
)

# Window 6 with test sequences of 12+ tokens, so sliding layers really differ from full ones.
WINDOW = 6
COMMON = dict(
    vocab_size=96,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=4,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=256,
    tie_word_embeddings=False,
    eos_token_id=95,
    pad_token_id=0,
    bos_token_id=1,
)


def tiny_configs() -> dict[str, tuple[type, object]]:
    return {
        "llama": (LlamaForCausalLM, LlamaConfig(**COMMON)),
        "mistral": (MistralForCausalLM, MistralConfig(**COMMON, sliding_window=WINDOW)),
        "qwen2": (
            Qwen2ForCausalLM,
            Qwen2Config(**COMMON, use_sliding_window=True, sliding_window=WINDOW, max_window_layers=2),
        ),
        "qwen3": (
            Qwen3ForCausalLM,
            Qwen3Config(
                **COMMON, head_dim=16, use_sliding_window=True, sliding_window=WINDOW, max_window_layers=2
            ),
        ),
        "gemma3_text": (
            Gemma3ForCausalLM,
            Gemma3TextConfig(
                **COMMON,
                head_dim=16,
                sliding_window=WINDOW,
                sliding_window_pattern=2,
                final_logit_softcapping=30.0,
                query_pre_attn_scalar=16,
            ),
        ),
    }


FAMILY_NAMES = tuple(tiny_configs())

# Published shapes (config.json of meta-llama/Llama-3.2-1B and Qwen/Qwen2.5-7B), random weights.
LARGE_SHAPES = {
    "llama-1b": (
        LlamaForCausalLM,
        LlamaConfig(
            vocab_size=128256,
            hidden_size=2048,
            intermediate_size=8192,
            num_hidden_layers=16,
            num_attention_heads=32,
            num_key_value_heads=8,
            rope_theta=500000.0,
            max_position_embeddings=4096,
            tie_word_embeddings=True,
        ),
    ),
    "qwen2-7b": (
        Qwen2ForCausalLM,
        Qwen2Config(
            vocab_size=152064,
            hidden_size=3584,
            intermediate_size=18944,
            num_hidden_layers=28,
            num_attention_heads=28,
            num_key_value_heads=4,
            rope_theta=1000000.0,
            max_position_embeddings=4096,
            tie_word_embeddings=False,
        ),
    ),
}


def build_tiny_model(family: str, *, attn_implementation: str = "sdpa", seed: int = 0) -> torch.nn.Module:
    if family not in tiny_configs():
        raise ValueError(f"no tiny model of family {family!r}; choose from {', '.join(FAMILY_NAMES)}")
    model_cls, config = tiny_configs()[family]
    config._attn_implementation = attn_implementation
    torch.manual_seed(seed)
    model = model_cls(config).eval()
    # Random init leaves norms at 1 and zero-init biases; perturb every parameter so that a
    # wrong norm, bias or layer order shows up in the logits.
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn_like(param) * 0.02)
    return model


def build_large_shape(
    shape: str, *, device: str, dtype: torch.dtype, seed: int = 0, num_hidden_layers: int | None = None
) -> torch.nn.Module:
    """A random model of a published shape, built on ``device`` in ``dtype`` (a 7B in bf16 holds
    about 15 GB); ``num_hidden_layers`` cuts it shorter for a quick look."""
    if shape not in LARGE_SHAPES:
        raise ValueError(f"no shape {shape!r}; choose from {', '.join(LARGE_SHAPES)}")
    model_cls, config = LARGE_SHAPES[shape]
    if num_hidden_layers is not None:
        config.num_hidden_layers = num_hidden_layers
    torch.manual_seed(seed)
    with torch.device(device):
        model = model_cls(config).to(dtype).eval()
    return model
