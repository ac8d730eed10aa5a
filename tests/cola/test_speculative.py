"""Self-speculative decoding returns exactly the full chain's greedy tokens, on every family."""

from __future__ import annotations

import pytest
import torch

from cola import ChainModel
from cola.cache import ChainCache
from cola.speculative import speculative_generate
from tests.conftest import FAMILY_NAMES, build_tiny_model

DRAFTS = [(0, 1, 3), (3,), (0, 1, 1, 2, 3)]  # a skip, a poor draft, a repeat


def greedy_new_tokens(chain_model, ids, max_new_tokens, eos, stop_rule=None):
    output = chain_model.generate(
        ids, tuple(range(4)), max_new_tokens=max_new_tokens, eos_token_id=eos, stop_rule=stop_rule
    )
    new = output[0, ids.shape[1] :].tolist()
    cut = next((i + 1 for i, token in enumerate(new) if token in eos), len(new))
    return new[:cut] if stop_rule is None else new


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_the_output_is_the_full_chains_greedy_output(family):
    chain_model = ChainModel(build_tiny_model(family))
    generator = torch.Generator().manual_seed(3)
    for length in (5, 13):  # within and past the sliding window
        ids = torch.randint(2, 90, (1, length), generator=generator)
        eos = [int(ids[0, -1])]  # a token the model may well produce, so stops happen mid-round
        expected = greedy_new_tokens(chain_model, ids, 14, eos)
        for draft in DRAFTS:
            for k in (1, 4):
                tokens, stats = speculative_generate(
                    chain_model, ids, draft, k=k, max_new_tokens=14, eos_token_id=eos
                )
                assert tokens == expected, (draft, k)
                assert stats.tokens == len(expected) and 0 <= stats.accepted <= stats.drafted


def test_a_stop_rule_cuts_where_greedy_decoding_stops():
    chain_model = ChainModel(build_tiny_model("llama"))
    ids = torch.tensor([[5, 9, 14, 3, 7, 11, 20, 31]])
    free = greedy_new_tokens(chain_model, ids, 12, [95])
    target = free[4]

    def stop_rule(new_tokens):  # stop once the fifth greedy token has appeared
        return (new_tokens == target).any(dim=1)

    expected = greedy_new_tokens(chain_model, ids, 12, [95], stop_rule)
    tokens, _ = speculative_generate(
        chain_model, ids, (0, 2, 3), k=4, max_new_tokens=12, eos_token_id=[95], stop_rule=stop_rule
    )
    assert tokens == expected[: expected.index(target) + 1]


def test_the_full_chain_as_its_own_draft_accepts_everything():
    chain_model = ChainModel(build_tiny_model("qwen2"))
    ids = torch.tensor([[5, 9, 14, 3, 7, 11, 20, 31, 40, 41, 42]])
    tokens, stats = speculative_generate(
        chain_model, ids, (0, 1, 2, 3), k=3, max_new_tokens=13, eos_token_id=[95]
    )
    assert (
        stats.accepted == stats.drafted and stats.tokens == 13 and stats.rounds == 3
    )  # 1 + 3 x (3 + 1) tokens


def test_cropping_a_cache_and_bad_arguments():
    cache = ChainCache((0, 1), ("full_attention", "full_attention"))
    cache.update(0, torch.ones(1, 2, 5, 4), torch.ones(1, 2, 5, 4))
    cache.seen_tokens = 5
    cache.crop(3)
    assert cache.history(0)[0].shape[-2] == 3 and cache.seen_tokens == 3
    with pytest.raises(ValueError, match="cannot crop"):
        cache.crop(4)
    chain_model = ChainModel(build_tiny_model("llama"))
    with pytest.raises(ValueError, match="batch 1"):
        speculative_generate(chain_model, torch.ones(2, 3, dtype=torch.long), (0, 1), k=2, max_new_tokens=3)
