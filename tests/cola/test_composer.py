"""The composer contract, checked against transformers' own forward and against full recompute."""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
import transformers
from packaging.version import Version

from cola import ChainModel
from cola.cache import StepSlot
from cola.composer import positions_from_mask
from cola.families import cache_keyword
from tests.conftest import build_tiny_model

CHAINS = {
    "skip": (0, 2, 3),
    "skip_first": (1, 2, 3),
    "repeat_adjacent": (0, 1, 1, 2, 3),
    "repeat_far": (0, 1, 2, 3, 0, 1),
    "reorder": (3, 1, 0, 2),
    "single": (2,),
}


def hf_logits(model, input_ids, attention_mask=None):
    kwargs = {}
    if attention_mask is not None:
        kwargs = {"attention_mask": attention_mask, "position_ids": positions_from_mask(attention_mask)}
    with torch.inference_mode():
        return model(input_ids, **kwargs).logits


def left_padded(token_ids: torch.Tensor, pad_lengths=(0, 4)) -> tuple[torch.Tensor, torch.Tensor]:
    ids, mask = token_ids.clone(), torch.ones_like(token_ids)
    for row, pad in enumerate(pad_lengths):
        ids[row, :pad] = 0
        mask[row, :pad] = 0
    return ids, mask


@torch.inference_mode()
def test_identity_chain_matches_hf_forward(tiny_model, token_ids):
    chain_model = ChainModel(tiny_model)
    ours = chain_model.forward(token_ids, range(chain_model.n_layers))
    torch.testing.assert_close(ours, hf_logits(tiny_model, token_ids), atol=2e-5, rtol=1e-5)


@torch.inference_mode()
def test_identity_chain_matches_hf_with_left_padding(tiny_model, token_ids):
    ids, mask = left_padded(token_ids)
    chain_model = ChainModel(tiny_model)
    ours = chain_model.forward(ids, range(chain_model.n_layers), attention_mask=mask)
    reference = hf_logits(tiny_model, ids, mask)
    real = mask.bool()
    torch.testing.assert_close(ours[real], reference[real], atol=2e-5, rtol=1e-5)


@torch.inference_mode()
def test_identity_chain_matches_hf_eager_attention(token_ids):
    model = build_tiny_model("gemma3_text", attn_implementation="eager")
    ours = ChainModel(model).forward(token_ids, range(4))
    torch.testing.assert_close(ours, hf_logits(model, token_ids), atol=2e-5, rtol=1e-5)


@torch.inference_mode()
def test_logits_to_keep_is_a_suffix_of_full_logits(tiny_model, token_ids):
    chain_model = ChainModel(tiny_model)
    full = chain_model.forward(token_ids, (0, 1, 1, 3))
    last = chain_model.forward(token_ids, (0, 1, 1, 3), logits_to_keep=1)
    torch.testing.assert_close(last, full[:, -1:])


def cached_logits(chain_model, ids, chain, mask=None, splits=(5, 1, 3, 1, 1, 1, 1, 1)):
    """Feed ``ids`` through a cache in chunks of ``splits`` tokens and concatenate the logits."""
    cache = chain_model.new_cache(chain)
    pieces, start = [], 0
    for size in splits:
        stop = start + size
        chunk_mask = None if mask is None else mask[:, :stop]
        pieces.append(chain_model.forward(ids[:, start:stop], chain, attention_mask=chunk_mask, cache=cache))
        start = stop
    assert start == ids.shape[1], "splits must cover the sequence"
    return torch.cat(pieces, dim=1), cache


@pytest.mark.parametrize("chain_name", list(CHAINS))
@torch.inference_mode()
def test_cached_decoding_equals_full_recompute(tiny_model, token_ids, chain_name):
    chain = CHAINS[chain_name]
    chain_model = ChainModel(tiny_model)
    recompute = chain_model.forward(token_ids, chain)
    incremental, cache = cached_logits(chain_model, token_ids, chain)
    torch.testing.assert_close(incremental, recompute, atol=2e-5, rtol=1e-5)
    assert cache.seen_tokens == token_ids.shape[1]


@pytest.mark.parametrize("chain_name", ["repeat_far", "reorder"])
@torch.inference_mode()
def test_cached_decoding_equals_recompute_with_left_padding(tiny_model, token_ids, chain_name):
    chain = CHAINS[chain_name]
    ids, mask = left_padded(token_ids)
    chain_model = ChainModel(tiny_model)
    recompute = chain_model.forward(ids, chain, attention_mask=mask)
    incremental, _ = cached_logits(chain_model, ids, chain, mask)
    real = mask.bool()
    torch.testing.assert_close(incremental[real], recompute[real], atol=2e-5, rtol=1e-5)


@torch.inference_mode()
def test_chain_differs_from_identity(tiny_model, token_ids):
    """Guards the tests above against a composer that ignores the chain."""
    chain_model = ChainModel(tiny_model)
    identity = chain_model.forward(token_ids, range(4))
    for chain in CHAINS.values():
        assert not torch.allclose(chain_model.forward(token_ids, chain), identity, atol=1e-4)


@torch.inference_mode()
def test_each_attention_call_writes_only_its_own_step_slot(tiny_model, token_ids, monkeypatch):
    chain = (0, 1, 1, 3, 0)
    calls: list[tuple[int, int, int]] = []
    original_update = StepSlot.update

    def recording_update(self, key_states, value_states, layer_idx=None, *args, **kwargs):
        calls.append((self.step, layer_idx, key_states.shape[-2]))
        return original_update(self, key_states, value_states, layer_idx, *args, **kwargs)

    monkeypatch.setattr(StepSlot, "update", recording_update)
    chain_model = ChainModel(tiny_model)
    cache = chain_model.new_cache(chain)
    chain_model.forward(token_ids[:, :9], chain, cache=cache)
    chain_model.forward(token_ids[:, 9:10], chain, cache=cache)
    expected_prefill = [(step, layer_idx, 9) for step, layer_idx in enumerate(chain)]
    expected_decode = [(step, layer_idx, 1) for step, layer_idx in enumerate(chain)]
    assert calls == expected_prefill + expected_decode
    assert len(cache.keys) == len(chain)
    for step in range(len(chain)):
        assert cache.keys[step].shape[-2] == 10
        assert cache.values[step].shape[-2] == 10
    # Layer 1 at steps 1 and 2 sees different inputs, so its two slots must hold different keys.
    assert not torch.allclose(cache.keys[1], cache.keys[2])


@torch.inference_mode()
def test_decoder_layers_run_in_the_installed_form_without_deprecation_warnings(tiny_model, token_ids):
    # Pins the call form against the installed transformers: a renamed or deprecated argument
    # warns here first, and a cache the layer no longer receives leaves the cache empty.
    chain_model = ChainModel(tiny_model)
    renamed = Version(transformers.__version__) >= Version("5.24")  # the release that renamed it
    assert chain_model.cache_keyword == ("cache" if renamed else "past_key_values")
    cache = chain_model.new_cache((0, 1, 1, 2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chain_model.forward(token_ids, (0, 1, 1, 2), cache=cache)
    assert [
        str(w.message) for w in caught if issubclass(w.category, FutureWarning | DeprecationWarning)
    ] == []
    assert [keys.shape[-2] for keys in cache.keys] == [token_ids.shape[1]] * 4


def test_the_cache_keyword_is_read_from_the_layer_signature():
    class Renamed:
        def forward(self, hidden_states, attention_mask=None, cache=None, **kwargs): ...

    class Older:
        def forward(self, hidden_states, attention_mask=None, past_key_values=None, **kwargs): ...

    class Unknown:
        def forward(self, hidden_states, kv_store=None, **kwargs): ...

    assert cache_keyword(Renamed) == "cache" and cache_keyword(Older) == "past_key_values"
    with pytest.raises(
        ValueError, match=r"Unknown.forward takes its KV cache by none of \('cache', 'past_key_values'\)"
    ):
        cache_keyword(Unknown)


def test_cache_slots_are_typed_by_the_layer_at_each_step():
    chain_model = ChainModel(build_tiny_model("gemma3_text"))
    kinds = chain_model.layer_types
    cache = chain_model.new_cache((1, 0, 0, 3))
    assert cache.step_layer_types == (kinds[1], kinds[0], kinds[0], kinds[3])
    assert kinds[0] != kinds[1], "tiny Gemma3 must alternate sliding and full layers"


@torch.inference_mode()
def test_model_and_config_are_not_mutated(tiny_model, token_ids):
    config_before = copy.deepcopy(tiny_model.config.to_dict())
    params_before = {name: p.clone() for name, p in tiny_model.state_dict().items()}
    chain_model = ChainModel(tiny_model)
    cached_logits(chain_model, token_ids, (3, 3, 0))
    chain_model.generate(token_ids, (0, 0, 2), max_new_tokens=3)
    assert tiny_model.config.to_dict() == config_before
    for name, param in tiny_model.state_dict().items():
        assert torch.equal(param, params_before[name]), name
    assert [layer.self_attn.layer_idx for layer in tiny_model.model.layers] == [0, 1, 2, 3]


@torch.inference_mode()
def test_greedy_generate_identity_matches_hf_generate(tiny_model, token_ids):
    chain_model = ChainModel(tiny_model)
    prompt = token_ids[:1, :8]
    ours = chain_model.generate(prompt, range(4), max_new_tokens=10, eos_token_id=95)
    reference = tiny_model.generate(
        prompt, do_sample=False, max_new_tokens=10, eos_token_id=95, pad_token_id=0
    )
    assert torch.equal(ours, reference)


@torch.inference_mode()
def test_batched_generate_with_left_padding_matches_hf_generate(tiny_model, token_ids):
    ids, mask = left_padded(token_ids[:, :10], pad_lengths=(0, 3))
    chain_model = ChainModel(tiny_model)
    ours = chain_model.generate(ids, range(4), attention_mask=mask, max_new_tokens=8, eos_token_id=95)
    reference = tiny_model.generate(
        ids, attention_mask=mask, do_sample=False, max_new_tokens=8, eos_token_id=95, pad_token_id=0
    )
    assert torch.equal(ours, reference)


@torch.inference_mode()
def test_generate_with_a_chain_equals_argmax_of_recompute(tiny_model, token_ids):
    """Cached greedy decoding under a repeat chain == greedy decoding by full recompute."""
    chain = (0, 1, 2, 2, 3, 1)
    chain_model = ChainModel(tiny_model)
    prompt = token_ids[:, :6]
    generated = chain_model.generate(prompt, chain, max_new_tokens=6, eos_token_id=-1)
    sequence = prompt
    for _ in range(6):
        next_ids = chain_model.forward(sequence, chain)[:, -1].argmax(-1, keepdim=True)
        sequence = torch.cat([sequence, next_ids], dim=1)
    assert torch.equal(generated, sequence)


@torch.inference_mode()
def test_generate_stops_at_eos_and_pads_finished_rows(token_ids):
    model = build_tiny_model("llama")
    chain_model = ChainModel(model)
    prompt = token_ids[:, :6]
    free = chain_model.generate(prompt, range(4), max_new_tokens=6, eos_token_id=-1)
    first_token_row0 = int(free[0, 6])
    stopped = chain_model.generate(
        prompt, range(4), max_new_tokens=6, eos_token_id=first_token_row0, pad_token_id=0
    )
    assert stopped[0, 6] == first_token_row0
    assert torch.all(stopped[0, 7:] == 0)


def test_bad_inputs_raise_clear_errors(token_ids):
    model = build_tiny_model("llama")
    chain_model = ChainModel(model)
    with pytest.raises(ValueError, match="layer 4 \\(chain step 1\\) out of range for a 4-layer model"):
        chain_model.forward(token_ids, (0, 4))
    with pytest.raises(ValueError, match="empty chain"):
        chain_model.forward(token_ids, ())
    with pytest.raises(ValueError, match="different chain"):
        chain_model.forward(token_ids, (0, 1), cache=chain_model.new_cache((0, 2)))
    with pytest.raises(ValueError, match="attention_mask has shape"):
        chain_model.forward(token_ids, (0, 1), attention_mask=torch.ones(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="at least one token"):
        chain_model.forward(token_ids[:, :0], (0, 1))
    with pytest.raises(ValueError, match="max_new_tokens must be >= 1"):
        chain_model.generate(token_ids, (0,), max_new_tokens=0)


def test_unsupported_family_lists_supported_ones():
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=50))
    with pytest.raises(ValueError, match="unsupported model family 'gpt2'; supported: gemma3_text, llama"):
        ChainModel(model)


def test_unsupported_attention_implementation_is_refused():
    model = build_tiny_model("llama", attn_implementation="flex_attention")
    with pytest.raises(ValueError, match="attention implementation 'flex_attention' is not supported"):
        ChainModel(model)
