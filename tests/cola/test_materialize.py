"""A materialized chain is a plain HF checkpoint whose outputs equal the composer's on that chain."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from cola import ChainModel
from cola.materialize import materialize, save_materialized
from tests.conftest import build_tiny_model

CHAIN = (0, 1, 1, 3, 0, 2)


@torch.inference_mode()
def test_saved_checkpoint_loads_without_cola_and_matches_the_composer(tiny_model, token_ids, tmp_path):
    save_materialized(tiny_model, None, CHAIN, tmp_path)
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    assert reloaded.config.num_hidden_layers == len(CHAIN)
    assert reloaded.config.cola_chain == "0-1,1,3,0,2"
    expected = ChainModel(tiny_model).forward(token_ids, CHAIN)
    torch.testing.assert_close(reloaded(token_ids).logits, expected, atol=2e-5, rtol=1e-5)
    prompt = token_ids[:1, :8]
    ours = ChainModel(tiny_model).generate(prompt, CHAIN, max_new_tokens=8, eos_token_id=95)
    theirs = reloaded.generate(prompt, do_sample=False, max_new_tokens=8, eos_token_id=95, pad_token_id=0)
    assert torch.equal(ours, theirs)


def test_hybrid_layer_types_follow_the_chain():
    model = build_tiny_model("gemma3_text")
    kinds = model.config.layer_types
    new = materialize(model, (1, 0, 0))
    assert new.config.layer_types == [kinds[1], kinds[0], kinds[0]]
    assert model.config.num_hidden_layers == 4, "the source config must not change"


def test_repeated_layers_get_independent_weights():
    model = build_tiny_model("llama")
    new = materialize(model, (2, 2))
    first, second = new.model.layers[0].mlp.up_proj.weight, new.model.layers[1].mlp.up_proj.weight
    assert torch.equal(first, second)
    assert first.data_ptr() != second.data_ptr()


def test_bad_chain_is_refused():
    with pytest.raises(ValueError, match="layer 7 \\(chain step 1\\) out of range for a 4-layer model"):
        materialize(build_tiny_model("llama"), (0, 7))
