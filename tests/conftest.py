"""Shared fixtures: tiny random models of every supported family, built offline from configs."""

from __future__ import annotations

import os

# Tests run offline: lm-eval's `datasets` must read the vendored JSON files, never ask the hub.
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402
from transformers import (  # noqa: E402
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

from tests.tiny_tokenizer import fixture_tokenizer  # noqa: E402

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


def _configs() -> dict[str, tuple[type, object]]:
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


FAMILY_NAMES = tuple(_configs())


def build_tiny_model(family: str, *, attn_implementation: str = "sdpa", seed: int = 0) -> torch.nn.Module:
    model_cls, config = _configs()[family]
    config._attn_implementation = attn_implementation
    torch.manual_seed(seed)
    model = model_cls(config).eval()
    # Random init leaves norms at 1 and zero-init biases; perturb every parameter so that a
    # wrong norm, bias or layer order shows up in the logits.
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn_like(param) * 0.02)
    return model


@pytest.fixture(params=FAMILY_NAMES)
def tiny_model(request) -> torch.nn.Module:
    return build_tiny_model(request.param)


@pytest.fixture
def token_ids() -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.randint(2, 90, (2, 14), generator=generator)


@pytest.fixture(scope="session")
def tokenizer():
    return fixture_tokenizer()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A tiny Llama checkpoint directory with a word tokenizer covering the fixture data."""
    directory = tmp_path_factory.mktemp("tiny-llama")
    build_tiny_model("llama").save_pretrained(directory)
    fixture_tokenizer().save_pretrained(directory)
    return directory
