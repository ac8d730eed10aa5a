"""Every step's exit in one pass equals the truncated chain, and transformers' own hidden states."""

from __future__ import annotations

import pytest
import torch

from cola import ChainModel, load_model
from cola.exits import check_exits, exit_logits

CHAINS = [(0, 1, 2, 3), (0, 2, 2, 1, 3), (3, 0, 1)]  # the full chain, a repeat and a skip, a reorder


@torch.inference_mode()
@pytest.mark.parametrize("chain", CHAINS, ids=["full", "repeat-skip", "reorder"])
def test_each_exit_is_the_truncated_chain(tiny_model, token_ids, chain):
    chain_model = ChainModel(tiny_model)
    exits = exit_logits(chain_model, token_ids, chain)
    assert sorted(exits) == list(range(len(chain) + 1))
    for k in range(1, len(chain) + 1):
        torch.testing.assert_close(exits[k], chain_model(token_ids, chain[:k]), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(exits[0], chain_model.head(chain_model.embed(token_ids)))


@torch.inference_mode()
def test_the_full_chain_exits_are_the_head_on_transformers_hidden_states(tiny_model, token_ids):
    chain_model = ChainModel(tiny_model)
    n_layers = chain_model.n_layers
    reference = tiny_model(token_ids, output_hidden_states=True)
    exits = exit_logits(chain_model, token_ids, range(n_layers))
    for k in range(n_layers):  # transformers' last entry is already normed; the logits cover it
        torch.testing.assert_close(
            exits[k], chain_model.head(reference.hidden_states[k]), atol=1e-5, rtol=1e-5
        )
    torch.testing.assert_close(exits[n_layers], reference.logits, atol=1e-5, rtol=1e-5)


@torch.inference_mode()
def test_a_subset_of_exits_at_chosen_positions(tiny_model, token_ids):
    chain_model = ChainModel(tiny_model)
    positions = torch.tensor([0, token_ids.shape[1] - 1])
    picked = exit_logits(chain_model, token_ids, (0, 1, 1, 2), exits=[2, 1], positions=positions)
    assert sorted(picked) == [1, 2]
    for k in (1, 2):
        torch.testing.assert_close(picked[k], chain_model(token_ids, (0, 1, 1, 2)[:k])[:, positions])


def test_exits_out_of_range_or_none_are_refused_by_name():
    assert check_exits(None, 3) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match=r"exits \[5\] out of range: a 4-step chain has exits 0..4"):
        check_exits([1, 5], 4)
    with pytest.raises(ValueError, match="no exit asked for"):
        check_exits([], 4)


@pytest.mark.slow
@torch.inference_mode()
def test_smollm2_exits_match_transformers_hidden_states():
    loaded = load_model("smollm2")
    ids = loaded.tokenizer(
        "The capital of France is Paris. The capital of Italy is", return_tensors="pt"
    ).input_ids
    chain_model = ChainModel(loaded.model)
    reference = loaded.model(ids, output_hidden_states=True)
    exits = exit_logits(chain_model, ids, range(30), exits=[0, 7, 15, 29, 30])
    for k in (0, 7, 15, 29):
        torch.testing.assert_close(
            exits[k], chain_model.head(reference.hidden_states[k]), atol=1e-4, rtol=1e-4
        )
    torch.testing.assert_close(exits[30], reference.logits, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(exits[15], chain_model(ids, range(15)), atol=1e-4, rtol=1e-4)
