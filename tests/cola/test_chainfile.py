import json

import pytest

from cola.chainfile import ChainEntry, ChainFile, load_chain_file, save_chain_file, weights_fingerprint
from tests.conftest import build_tiny_model


def make_file(model) -> ChainFile:
    return ChainFile(
        model_name="tiny",
        model_type=model.config.model_type,
        n_layers=4,
        fingerprint=weights_fingerprint(model),
        chains=[
            ChainEntry("arc_easy", "q1", (0, 1, 1, 3), True),
            ChainEntry("arc_easy", "q2", (0, 2), False),
        ],
        source={"benchmark": "arc_easy", "search": "mcts"},
        summary={"shortening_rate": 0.5},
        static_chain=(0, 1, 3),
    )


def test_round_trip(tmp_path):
    model = build_tiny_model("llama")
    original = make_file(model)
    path = save_chain_file(original, tmp_path / "chains.json")
    loaded = load_chain_file(path, model=model)
    assert loaded == original
    assert loaded.chain_for("q1") == (0, 1, 1, 3)
    raw = json.loads(path.read_text())
    assert raw["format"] == "cola-chains" and raw["version"] == 1
    assert raw["chains"][0] == {
        "benchmark": "arc_easy",
        "sample_id": "q1",
        "chain": "0-1,1,3",
        "length": 4,
        "original_correct": True,
    }


def test_refused_for_a_different_model(tmp_path):
    path = save_chain_file(make_file(build_tiny_model("llama", seed=0)), tmp_path / "chains.json")
    with pytest.raises(ValueError, match="was made for model 'tiny'.*chains do not transfer"):
        load_chain_file(path, model=build_tiny_model("llama", seed=1))


def test_fingerprint_sees_a_single_changed_weight():
    model = build_tiny_model("qwen3")
    before = weights_fingerprint(model)
    with __import__("torch").no_grad():
        model.model.layers[2].mlp.down_proj.weight[0, 0] += 1e-3
    assert weights_fingerprint(model) != before


def test_bad_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="chain file not found"):
        load_chain_file(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something-else"}')
    with pytest.raises(ValueError, match="not a cola chain file"):
        load_chain_file(bad)
    bad.write_text('{"format": "cola-chains", "version": 9}')
    with pytest.raises(ValueError, match="version 9 is not supported"):
        load_chain_file(bad)
    with pytest.raises(KeyError, match="no chain for sample 'zz'"):
        make_file(build_tiny_model("llama")).chain_for("zz")
