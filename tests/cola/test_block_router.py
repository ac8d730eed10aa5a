"""The block router: decisions and chains map both ways, the walk sees what transformers computes,
and a trained router's file round-trips and chooses the chain its decisions make."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cola import ChainModel
from cola.block_router import BlockRouter, block_decisions, chain_of, layer_blocks, walk_blocks, walk_prompt
from cola.policy import StaticChain, gate_router_skips, load_policy, save_policy
from tests.conftest import build_tiny_model


def test_decisions_and_chains_map_both_ways():
    blocks = layer_blocks(5, 2)
    assert blocks == [(0, 2), (2, 4), (4, 5)]
    assert chain_of([1, 0, 2], blocks) == (0, 1, 4, 4)
    assert block_decisions((0, 1, 4, 4), blocks) == [1, 0, 2]
    assert block_decisions((0, 1, 2, 3, 2, 3, 4), blocks) == [1, 2, 1]
    assert block_decisions((0, 2, 3, 4), blocks) is None  # half of a block
    assert block_decisions((0, 0, 0, 1, 2, 3, 4), layer_blocks(5, 1)) is None  # three runs of a layer
    with pytest.raises(ValueError, match="at least one layer"):
        layer_blocks(5, 0)


@torch.inference_mode()
def test_the_walk_sees_the_hidden_states_transformers_reports():
    model = build_tiny_model("llama")
    chain_model = ChainModel(model)
    ids = torch.tensor([[5, 9, 14, 3, 7, 11]])
    decisions, features = walk_blocks(chain_model, ids, layer_blocks(4, 1), lambda index, feature: 1)
    reference = model(ids, output_hidden_states=True).hidden_states
    assert decisions == [1, 1, 1, 1]
    for index in range(4):  # the state entering layer k is transformers' hidden_states[k]
        assert np.allclose(features[index], reference[index][0].mean(dim=0).numpy(), atol=1e-5)


def constant_router(decisions: list[int], blocks, width: int = 64) -> BlockRouter:
    """A router whose MLPs always take ``decisions`` (through the output bias)."""
    count = len(blocks)
    b2 = np.full((count, 3), -10.0)
    b2[np.arange(count), decisions] = 10.0
    zeros = np.zeros
    return BlockRouter(
        blocks,
        zeros((count, width)),
        np.ones((count, width)),
        zeros((count, width, 4)),
        zeros((count, 4)),
        zeros((count, 4, 3)),
        b2,
    )


def test_a_router_file_round_trips_and_chooses_its_decisions_chain(tmp_path):
    chain_model = ChainModel(build_tiny_model("llama"))
    blocks = layer_blocks(4, 1)
    router = constant_router([1, 0, 2, 1], blocks)
    path = tmp_path / "router.safetensors"
    save_policy(router, path, fingerprint="sha256:t", n_layers=4, trained_toward="gold")
    loaded = load_policy(path, chain_model, fingerprint="sha256:t")
    ids = torch.tensor([[3, 4, 5]])
    assert loaded.choose(chain_model, ids) == (0, 2, 2, 3)
    assert constant_router([0, 0, 0, 0], blocks).choose(chain_model, ids) == (
        0,
        1,
        2,
        3,
    )  # nothing left: full
    save_policy(
        constant_router([1, 1], layer_blocks(4, 2)),
        path,
        fingerprint="sha256:t",
        n_layers=4,
        trained_toward="gold",
    )
    assert load_policy(path, chain_model, fingerprint="sha256:t").choose(chain_model, ids) == (0, 1, 2, 3)


def leaning_router(skip_probability: float, blocks, width: int = 64) -> BlockRouter:
    """A router that runs every block but the second, to which it gives "skip" ``skip_probability``
    and splits the rest evenly."""
    router = constant_router([1] * len(blocks), blocks, width)
    rest = (1.0 - skip_probability) / 2
    router.b2[1] = np.log([skip_probability, rest, rest])
    return router


def test_a_skip_below_the_confidence_gate_runs_the_block():
    router, feature = leaning_router(0.6, layer_blocks(4, 1)), np.zeros(64)
    assert router.decide(1, feature) == 0  # ungated: the likeliest, skip
    router.skip_confidence = 0.5
    assert router.decide(1, feature) == 0
    router.skip_confidence = 0.7
    assert router.decide(1, feature) == 1  # 0.6 < 0.7: the block runs
    assert router.decide(0, feature) == 1


def test_gating_a_router_file_changes_its_chain_and_nothing_else(tmp_path):
    chain_model = ChainModel(build_tiny_model("llama"))
    path, gated = tmp_path / "router.safetensors", tmp_path / "gated.safetensors"
    router = leaning_router(0.6, layer_blocks(4, 1))
    save_policy(router, path, fingerprint="sha256:t", n_layers=4, trained_toward="faithful")
    ids = torch.tensor([[3, 4, 5]])
    assert load_policy(path, chain_model, fingerprint="sha256:t").choose(chain_model, ids) == (0, 2, 3)
    gate_router_skips(path, gated, 0.7)
    loaded = load_policy(gated, chain_model, fingerprint="sha256:t")
    assert loaded.skip_confidence == 0.7
    assert loaded.choose(chain_model, ids) == (0, 1, 2, 3)
    assert all(np.array_equal(loaded.arrays()[name], router.arrays()[name]) for name in router.arrays())
    gate_router_skips(path, gated, 0.5)
    assert load_policy(gated, chain_model, fingerprint="sha256:t").choose(chain_model, ids) == (0, 2, 3)
    with pytest.raises(ValueError, match="other weights"):  # the weights' check survives the copy
        load_policy(gated, chain_model, fingerprint="sha256:other")
    with pytest.raises(ValueError, match=r"in \[0, 1\)"):
        gate_router_skips(path, gated, 1.0)
    save_policy(StaticChain((0, 1)), path, fingerprint="sha256:t", n_layers=4, trained_toward="gold")
    with pytest.raises(ValueError, match="not a block router"):
        gate_router_skips(path, gated, 0.5)


def test_a_walk_needs_a_context_inside_the_prompt():
    chain_model = ChainModel(build_tiny_model("llama"))
    hidden = chain_model.embed(torch.tensor([[3, 4, 5]]))
    inputs = chain_model.step_inputs(hidden)
    for tokens in (0, 4):
        with pytest.raises(ValueError, match=r"context_tokens must be in \[1, 3\]"):
            walk_prompt(
                chain_model,
                hidden,
                inputs,
                layer_blocks(4, 1),
                lambda index, feature: 1,
                context_tokens=tokens,
            )
