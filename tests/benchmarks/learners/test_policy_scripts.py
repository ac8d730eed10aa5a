"""A policy file drives scripts/evaluate.py and scripts/generate.py; a missing one is refused first."""

from __future__ import annotations

import json

from cola import ChainModel, load_model
from cola.chainfile import weights_fingerprint
from cola.policy import StaticChain, save_policy
from tests.benchmarks.runs.test_search_run import ARC_PATH, one_line_error, script


def static_policy_file(tmp_path, checkpoint, chain=(0, 2, 3)):
    loaded = load_model(str(checkpoint))
    path = tmp_path / "static.safetensors"
    save_policy(
        StaticChain(chain),
        path,
        fingerprint=weights_fingerprint(loaded.model),
        n_layers=ChainModel(loaded.model).n_layers,
        trained_toward="gold",
    )
    return path


def test_evaluate_and_generate_run_the_policys_chain(tmp_path, tiny_checkpoint):
    policy = static_policy_file(tmp_path, tiny_checkpoint)
    run_dir = tmp_path / "eval"
    common = (f"model.spec={tiny_checkpoint}", f"policy={policy}", "threads=1", "progress=false")
    done = script("evaluate.py", *common, f"benchmark.path={ARC_PATH}", f"hydra.run.dir={run_dir}")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    assert len(records) == 5 and {r["chain"] for r in records} == {"0,2-3"}
    settings = json.loads((run_dir / "run_settings.json").read_text())
    assert settings["chain"] == "policy:static" and len(settings["policy_sha256"]) == 64
    generated = script("generate.py", *common[:3], "prompt=the cat", "max_new_tokens=2", "chat=false")
    assert generated.returncode == 0, generated.stderr
    assert "chain 0,2-3 (3 of 4 layers)" in generated.stderr


def test_a_missing_or_doubled_policy_is_refused_before_the_model_loads(tmp_path):
    absent = script("evaluate.py", "model.spec=/no/such/model", f"policy={tmp_path / 'none.safetensors'}")
    assert absent.returncode == 2 and one_line_error(absent.stderr).startswith("error: policy file not found")
    both = script("generate.py", "model.spec=/no/such/model", "chain=0-2", "policy=x", "prompt=x")
    assert (
        both.returncode == 2
        and one_line_error(both.stderr) == "error: give one of chain=, chain_file= and policy="
    )
    absent = script("generate.py", "model.spec=/no/such/model", f"policy={tmp_path / 'none'}", "prompt=x")
    assert absent.returncode == 2 and one_line_error(absent.stderr).startswith("error: policy file not found")
