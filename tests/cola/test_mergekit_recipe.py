"""A chain's mergekit passthrough recipe: its slices stacked in order are the chain, and (where
mergekit is installed in its own environment) mergekit builds a checkpoint equal to materialize's."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import yaml

from benchmarks.benches.mergekit_check import build_with_mergekit, compare_tensors
from cola.materialize import save_materialized
from cola.mergekit_recipe import chain_slices, write_mergekit_recipe
from tests.conftest import build_tiny_model
from tests.tiny_tokenizer import tiny_tokenizer

MERGEKIT = Path(__file__).resolve().parents[2] / ".venv-mergekit" / "bin" / "mergekit-yaml"


def stacked(recipe: dict) -> list[int]:
    """What mergekit's passthrough does with the layers: each slice's range, in order."""
    layers = []
    for piece in recipe["slices"]:
        (source,) = piece["sources"]
        start, end = source["layer_range"]
        layers.extend(range(start, end))
    return layers


def test_slices_are_runs_of_consecutive_layers():
    assert chain_slices((0, 1, 2, 2, 3, 5, 4)) == [(0, 3), (2, 4), (5, 6), (4, 5)]
    assert chain_slices((3,)) == [(3, 4)]


def recipe_for(checkpoint: Path, chain: tuple[int, ...], out: Path) -> dict:
    write_mergekit_recipe(checkpoint, chain, out)
    return yaml.safe_load(out.read_text())


def test_recipe_stacks_to_the_chain(tmp_path):
    save_materialized(build_tiny_model("llama"), None, (0, 1, 2, 3), tmp_path / "source")
    rng = random.Random(0)
    for _ in range(50):
        chain = tuple(rng.randrange(4) for _ in range(rng.randint(1, 9)))
        recipe = recipe_for(tmp_path / "source", chain, tmp_path / "recipe.yaml")
        assert stacked(recipe) == list(chain)
        assert recipe["merge_method"] == "passthrough" and recipe["dtype"] == "float32"
        assert "base_model" not in recipe, "llama keeps no per-layer types: the source's config serves"
        assert {source["model"] for piece in recipe["slices"] for source in piece["sources"]} == {
            str((tmp_path / "source").resolve())
        }


def test_recipe_refuses_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        write_mergekit_recipe(tmp_path, (0,), tmp_path / "recipe.yaml")
    save_materialized(build_tiny_model("llama"), None, (0, 1, 2, 3), tmp_path)
    with pytest.raises(ValueError, match="out of range for a 4-layer model"):
        write_mergekit_recipe(tmp_path, (0, 4), tmp_path / "recipe.yaml")


def test_gemma_recipe_names_a_base_whose_config_follows_the_chain(tmp_path):
    model, chain = build_tiny_model("gemma3_text"), (3, 0, 0, 1, 2)
    save_materialized(model, tiny_tokenizer(), (0, 1, 2, 3), tmp_path / "source")
    recipe = recipe_for(tmp_path / "source", chain, tmp_path / "recipe.yaml")
    base = Path(recipe["base_model"])
    assert base == (tmp_path / "recipe.base").resolve()
    config = json.loads((base / "config.json").read_text())
    kinds = model.config.layer_types
    assert config["num_hidden_layers"] == len(chain)
    assert config["layer_types"] == [kinds[layer_idx] for layer_idx in chain]
    assert config["layer_types"][:4] != list(kinds), "the chain must change the types for this test to bite"
    assert (base / "model.safetensors").resolve() == (tmp_path / "source" / "model.safetensors").resolve()
    assert (base / "tokenizer.json").is_symlink()
    other = tmp_path / "other"  # the same recipe path written again over another checkpoint
    save_materialized(build_tiny_model("gemma3_text", seed=1), tiny_tokenizer(), (0, 1, 2, 3), other)
    recipe_for(other, chain, tmp_path / "recipe.yaml")
    assert (base / "model.safetensors").resolve() == (other / "model.safetensors").resolve()


@pytest.mark.slow
@pytest.mark.skipif(not MERGEKIT.is_file(), reason="mergekit not installed: bash scripts/setup_mergekit.sh")
@pytest.mark.parametrize("family", ["llama", "gemma3_text"])
def test_mergekit_builds_materializes_checkpoint(family, tmp_path):
    model = build_tiny_model(family)
    source, chain = tmp_path / "source", (0, 2, 2, 1)  # layer 3 skipped, 2 repeated, 1 after 2
    save_materialized(model, tiny_tokenizer(), (0, 1, 2, 3), source)
    write_mergekit_recipe(source, chain, tmp_path / "recipe.yaml")
    build_with_mergekit(MERGEKIT, tmp_path / "recipe.yaml", tmp_path / "merged")
    save_materialized(model, None, chain, tmp_path / "materialized")
    found = compare_tensors(tmp_path / "merged", tmp_path / "materialized")
    assert found["equal"], found
    merged = json.loads((tmp_path / "merged" / "config.json").read_text())
    ours = json.loads((tmp_path / "materialized" / "config.json").read_text())
    assert merged["num_hidden_layers"] == len(chain)
    assert merged.get("layer_types") == ours.get("layer_types")


def test_the_script_writes_a_recipe_and_refuses_what_it_cannot(tmp_path):
    from tests.benchmarks.runs.test_search_run import one_line_error, script

    source = tmp_path / "gemma"
    save_materialized(build_tiny_model("gemma3_text"), tiny_tokenizer(), (0, 1, 2, 3), source)
    done = script(
        "export_mergekit.py", "--model", str(source), "--chain", "0,0,3", "--out", str(tmp_path / "r.yaml")
    )
    assert done.returncode == 0, done.stderr
    assert stacked(yaml.safe_load((tmp_path / "r.yaml").read_text())) == [0, 0, 3]
    assert "r.base" in done.stdout and (tmp_path / "r.base" / "config.json").is_file()
    out_of_range = script(
        "export_mergekit.py", "--model", str(source), "--chain", "0,4", "--out", str(tmp_path / "x.yaml")
    )
    assert out_of_range.returncode != 0 and "layer 4" in one_line_error(out_of_range.stderr)
    missing = script(
        "export_mergekit.py", "--model", str(tmp_path / "nowhere"), "--chain", "0", "--out", "x.yaml"
    )
    assert missing.returncode != 0 and "not found" in one_line_error(missing.stderr)
    assert not (tmp_path / "x.yaml").exists()


def test_a_static_policy_becomes_its_recipe_and_another_models_policy_is_refused(tmp_path):
    from cola import load_model
    from cola.chainfile import weights_fingerprint
    from cola.policy import StaticChain, save_policy
    from tests.benchmarks.runs.test_search_run import one_line_error, script

    source, other = tmp_path / "llama", tmp_path / "other"
    save_materialized(build_tiny_model("llama"), tiny_tokenizer(), (0, 1, 2, 3), source)
    save_materialized(build_tiny_model("llama", seed=1), tiny_tokenizer(), (0, 1, 2, 3), other)
    policy = tmp_path / "pruned.safetensors"
    fingerprint = weights_fingerprint(load_model(str(source)).model)
    save_policy(StaticChain((0, 1, 3)), policy, fingerprint=fingerprint, n_layers=4, trained_toward="gold")
    done = script(
        "export_mergekit.py",
        "--model",
        str(source),
        "--policy",
        str(policy),
        "--out",
        str(tmp_path / "p.yaml"),
    )
    assert done.returncode == 0, done.stderr
    assert stacked(yaml.safe_load((tmp_path / "p.yaml").read_text())) == [0, 1, 3]
    refused = script(
        "export_mergekit.py",
        "--model",
        str(other),
        "--policy",
        str(policy),
        "--out",
        str(tmp_path / "q.yaml"),
    )
    assert refused.returncode != 0 and "weights" in one_line_error(refused.stderr)
