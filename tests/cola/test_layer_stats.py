"""Block Influence and angular distance against a direct computation on transformers' own hidden states."""

from __future__ import annotations

import math

import pytest
import torch

from cola import ChainModel
from cola.layer_stats import LayerStats


@torch.inference_mode()
def test_stats_match_transformers_hidden_states(tiny_model, token_ids):
    chain_model = ChainModel(tiny_model)
    texts = [token_ids[:1], token_ids[:1, :5]]
    stats = LayerStats(chain_model.n_layers, [1, 2])
    for ids in texts:
        stats.add(chain_model, ids)
    influence, tokens = torch.zeros(chain_model.n_layers), 0
    angular = {1: torch.zeros(4), 2: torch.zeros(3)}
    for ids in texts:
        last = []  # transformers' last hidden state is normed: take the last layer's own output
        hook = tiny_model.model.layers[-1].register_forward_hook(
            lambda module, args, output, last=last: last.append(
                output[0] if isinstance(output, tuple) else output
            )
        )
        try:
            states = list(tiny_model(ids, output_hidden_states=True).hidden_states[:-1])
        finally:
            hook.remove()
        states.append(last[0])
        for layer in range(4):
            cosine = torch.nn.functional.cosine_similarity(states[layer][0], states[layer + 1][0], dim=-1)
            influence[layer] += (1 - cosine).sum()
        tokens += ids.shape[1]
        for n in (1, 2):
            for start in range(4 - n + 1):
                cosine = torch.nn.functional.cosine_similarity(
                    states[start][0, -1], states[start + n][0, -1], dim=0
                )
                angular[n][start] += math.acos(max(-1.0, min(1.0, float(cosine)))) / math.pi
    assert stats.block_influence() == pytest.approx((influence / tokens).tolist(), abs=1e-5)
    for n in (1, 2):
        assert stats.angular_distance(n) == pytest.approx((angular[n] / len(texts)).tolist(), abs=1e-5)


def test_block_sizes_out_of_range_are_refused():
    with pytest.raises(ValueError, match=r"block sizes \[4\] out of range: a 4-layer model removes 1..3"):
        LayerStats(4, [1, 4])
    with pytest.raises(ValueError, match="no angular distances for blocks of 3"):
        LayerStats(4, [1]).angular_distance(3)
