"""Policy files: each kind chooses as documented, survives a save and load, and is refused on other
weights, with an unknown kind or a newer version; router files of the older format still load."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from cola import ChainModel
from cola.policy import KnnRouter, StaticChain, context_feature, load_policy, policy_sha256, save_policy
from tests.conftest import build_tiny_model

HIDDEN = 64  # the tiny models' hidden size


@pytest.fixture(scope="module")
def chain_model() -> ChainModel:
    return ChainModel(build_tiny_model("llama"))


def random_router(*, neighbors: int = 3, feature_layers: int = 2) -> KnnRouter:
    rng = np.random.default_rng(1)
    features = rng.standard_normal((6, HIDDEN)).astype(np.float32)
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    labels = rng.integers(0, 2, (6, 2)).astype(np.float32)
    return KnnRouter([(0, 1, 2, 3), (0, 2, 3)], features, labels, neighbors, feature_layers)


def test_router_routes_each_cluster_to_its_chain():
    library = [(0, 1, 2, 3), (0, 2, 3), (1, 2, 3)]
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:2]
    features = np.concatenate(
        [centres[0] + 0.05 * rng.standard_normal((20, 8)), centres[1] + 0.05 * rng.standard_normal((20, 8))]
    )
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    labels = np.zeros((40, 3))
    labels[:20, 1] = 1  # cluster 0: only chain 1 is right
    labels[20:, 0] = 1  # cluster 1: the full chain is right; chain 2 as well but no better
    labels[20:, 2] = 1
    router = KnnRouter(library, features, labels, neighbors=5)
    assert router.route(centres[0]) == 1
    assert router.route(centres[1]) == 0, "a tie with the full chain falls back to the full chain"


@torch.inference_mode()
def test_router_chooses_by_the_prompt_feature_after_its_layers(chain_model):
    router = random_router(feature_layers=2)
    ids = torch.tensor([[5, 9, 14, 3, 7]])
    feature = context_feature(chain_model, ids, layers=2)
    # The feature is the mean state after layers 0 and 1, as transformers' own forward reports it.
    after_two = chain_model.model(ids, output_hidden_states=True).hidden_states[2][0].mean(dim=0)
    assert np.allclose(feature, (after_two / after_two.norm()).numpy(), atol=1e-5)
    assert router.choose(chain_model, ids) == router.library[router.route(feature)]


def test_saved_policies_choose_as_before_and_are_refused_on_other_weights(tmp_path, chain_model):
    router, path = random_router(), tmp_path / "router.safetensors"
    save_policy(router, path, fingerprint="sha256:abc", n_layers=4, trained_toward="gold")
    loaded = load_policy(path, chain_model, fingerprint="sha256:abc")
    assert isinstance(loaded, KnnRouter) and loaded.library == router.library
    assert (loaded.neighbors, loaded.feature_layers) == (3, 2)
    for probe in np.random.default_rng(2).standard_normal((10, HIDDEN)):
        assert loaded.route(probe) == router.route(probe)
    with pytest.raises(ValueError, match="trained on other weights"):
        load_policy(path, chain_model, fingerprint="sha256:def")

    static_path = tmp_path / "static.safetensors"
    save_policy(
        StaticChain((0, 2, 2, 3)), static_path, fingerprint="sha256:abc", n_layers=4, trained_toward="gold"
    )
    static = load_policy(static_path, chain_model, fingerprint="sha256:abc")
    assert static == StaticChain((0, 2, 2, 3))
    assert static.choose(chain_model, torch.tensor([[1, 2]])) == (0, 2, 2, 3)


def test_bad_policy_files_are_refused_with_the_reason(tmp_path, chain_model):
    header = {"format": "cola-policy", "version": "1", "fingerprint": "sha256:abc", "n_layers": "4"}
    arrays = random_router().arrays()
    save_file(arrays, str(tmp_path / "newer"), metadata={**header, "version": "2", "kind": "knn_router"})
    with pytest.raises(ValueError, match="version 2 policy; this cola reads up to 1"):
        load_policy(tmp_path / "newer", chain_model, fingerprint="sha256:abc")
    save_file(arrays, str(tmp_path / "odd"), metadata={**header, "kind": "mlp_router"})
    with pytest.raises(ValueError, match="unknown kind 'mlp_router'"):
        load_policy(tmp_path / "odd", chain_model, fingerprint="sha256:abc")
    narrow = KnnRouter([(0, 1, 2, 3)], np.ones((2, 8), np.float32), np.ones((2, 1), np.float32))
    save_policy(narrow, tmp_path / "narrow", fingerprint="sha256:abc", n_layers=4, trained_toward="gold")
    with pytest.raises(ValueError, match="8-wide features; the model's are 64"):
        load_policy(tmp_path / "narrow", chain_model, fingerprint="sha256:abc")
    with pytest.raises(FileNotFoundError, match="policy file not found"):
        load_policy(tmp_path / "missing", chain_model, fingerprint="sha256:abc")
    (tmp_path / "junk").write_bytes(b"not a policy")
    with pytest.raises(ValueError, match="not a safetensors policy file"):
        load_policy(tmp_path / "junk", chain_model, fingerprint="sha256:abc")
    save_file(arrays, str(tmp_path / "other"), metadata={"format": "something-else"})
    with pytest.raises(ValueError, match="is not a cola policy"):
        load_policy(tmp_path / "other", chain_model, fingerprint="sha256:abc")


def test_router_files_of_the_first_format_still_load(tmp_path, chain_model):
    router = random_router()
    legacy = {  # what the router study wrote before policy files had kinds
        "format": "cola-router/1",
        "fingerprint": "sha256:abc",
        "n_layers": "4",
        "library": json.dumps(["0-3", "0,2-3"]),
        "neighbors": "3",
        "feature_layers": "2",
    }
    save_file(router.arrays(), str(tmp_path / "old.safetensors"), metadata=legacy)
    loaded = load_policy(tmp_path / "old.safetensors", chain_model, fingerprint="sha256:abc")
    assert isinstance(loaded, KnnRouter) and loaded.library == router.library
    assert np.array_equal(loaded.labels, router.labels)


def test_the_policy_digest_reads_content_not_bytes(tmp_path):
    first, second = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    for path in (first, second):
        save_policy(
            StaticChain((0, 1, 1, 3)), path, fingerprint="sha256:abc", n_layers=4, trained_toward="gold"
        )
    assert policy_sha256(first) == policy_sha256(second)
    save_policy(StaticChain((0, 1, 3)), second, fingerprint="sha256:abc", n_layers=4, trained_toward="gold")
    assert policy_sha256(first) != policy_sha256(second)
    save_policy(
        StaticChain((0, 1, 1, 3)), second, fingerprint="sha256:abc", n_layers=4, trained_toward="faithful"
    )
    assert policy_sha256(first) != policy_sha256(second)
