"""The composer on the real Gemma 3 270M weights (slow): sliding-window and global layers,
per-type rotary tables and a base model's tokenizer (BOS, no chat template)."""

from __future__ import annotations

import pytest
import torch

from cola import ChainModel, load_model, parse_chain
from tests.cola.cache_checks import assert_cached_equals_uncached

pytestmark = pytest.mark.slow

PROMPT = "The capital of France is Paris. The capital of Italy is"
# Longer than the 512-token sliding window, so that sliding layers see only part of it.
LONG = (
    " ".join(f"Fact {i}: the river number {i} flows into lake {i % 7}." for i in range(60))
    + " The lake of river 3 is"
)
# Repeats sliding layer 4 and skips global layer 5: the cache must follow the chain step, not the layer.
CHAIN = "0-4,4,6-17"


@pytest.fixture(scope="module")
def gemma():
    return load_model("gemma3_270m")


def ids(gemma, text):
    return gemma.tokenizer(text, return_tensors="pt").input_ids


def test_embedded_gemma_shape(gemma):
    config = gemma.model.config
    assert gemma.n_layers == 18 and config.model_type == "gemma3_text"
    assert [i for i, kind in enumerate(config.layer_types) if kind == "full_attention"] == [5, 11, 17]
    assert gemma.tokenizer.chat_template is None  # a base model
    assert ids(gemma, PROMPT)[0, 0] == gemma.tokenizer.bos_token_id
    assert ids(gemma, LONG).shape[1] > config.sliding_window


@pytest.mark.parametrize("text", [PROMPT, LONG])
@torch.inference_mode()
def test_identity_chain_matches_hf_logits(gemma, text):
    # The last 64 positions (past the sliding window on LONG): the LM head over 262k tokens at
    # every position costs more than the layers, and earlier errors reach these through attention.
    prompt_ids = ids(gemma, text)
    ours = ChainModel(gemma.model).forward(prompt_ids, range(18), logits_to_keep=64)
    reference = gemma.model(prompt_ids, logits_to_keep=64).logits
    torch.testing.assert_close(ours, reference, atol=2e-4, rtol=2e-4)


@torch.inference_mode()
def test_identity_generation_matches_hf_generate(gemma):
    prompt_ids = ids(gemma, PROMPT)
    ours = ChainModel(gemma.model).generate(prompt_ids, range(18), max_new_tokens=8)
    reference = gemma.model.generate(prompt_ids, do_sample=False, max_new_tokens=8)
    assert torch.equal(ours, reference)


@torch.inference_mode()
def test_chain_cached_equals_uncached_past_the_sliding_window(gemma):
    prompt_ids = ids(gemma, LONG)
    chain = parse_chain(CHAIN, 18)
    assert prompt_ids.shape[1] - 64 > gemma.model.config.sliding_window  # compared past the window
    assert_cached_equals_uncached(ChainModel(gemma.model), prompt_ids, chain, tol=2e-4, prefill_positions=64)


@torch.inference_mode()
def test_materialized_chain_loads_in_vanilla_transformers(gemma, tmp_path):
    from transformers import AutoModelForCausalLM

    from cola.materialize import save_materialized

    chain = parse_chain(CHAIN, 18)
    save_materialized(gemma.model, gemma.tokenizer, chain, tmp_path)
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    assert reloaded.config.num_hidden_layers == len(chain)
    prompt_ids = ids(gemma, PROMPT)
    expected = ChainModel(gemma.model).forward(prompt_ids, chain)
    torch.testing.assert_close(reloaded(prompt_ids).logits, expected, atol=2e-4, rtol=2e-4)
