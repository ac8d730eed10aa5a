"""Pruning rules end to end: a rule's choice saved as a static-chain policy that loads and runs."""

from __future__ import annotations

import json

import pytest

from benchmarks.learners.pruning import removed_layers
from cola import ChainModel, load_model
from cola.chainfile import weights_fingerprint
from cola.layer_stats import LayerStats
from cola.policy import StaticChain, load_policy
from tests.benchmarks.runs.test_search_run import script


@pytest.mark.parametrize(
    ("rule", "expected"),
    [("reverse", [2, 3]), ("reverse_keep_final", [1, 2])],
)
def test_rules_that_read_nothing(rule, expected):
    assert removed_layers(rule, 2, 4) == expected


def test_text_rules_need_statistics_and_keep_rate_a_prior():
    with pytest.raises(ValueError, match="the angular rule reads layer statistics"):
        removed_layers("angular", 2, 4)
    with pytest.raises(ValueError, match="keep_rate rule reads a prior's keep rates"):
        removed_layers("keep_rate", 2, 4)
    with pytest.raises(ValueError, match="unknown pruning rule 'magnitude'"):
        removed_layers("magnitude", 2, 4, stats=LayerStats(4, [2]))


@pytest.mark.parametrize("rule", ["block_influence", "angular"])
def test_the_script_saves_a_static_chain_that_loads(tmp_path, tiny_checkpoint, rule):
    out = tmp_path / f"{rule}.safetensors"
    done = script(
        "prune.py",
        "--model",
        str(tiny_checkpoint),
        "--rule",
        rule,
        "--remove",
        "2",
        "--texts",
        "5",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    loaded = load_model(str(tiny_checkpoint))
    policy = load_policy(out, ChainModel(loaded.model), fingerprint=weights_fingerprint(loaded.model))
    assert isinstance(policy, StaticChain) and len(policy.chain) == 2
    removed = json.loads(done.stdout.split("remove ")[1].split(" ->")[0])
    assert policy.chain == tuple(layer for layer in range(4) if layer not in removed)


def test_pruning_curves_score_every_rule_beside_its_random_removals(tmp_path, tiny_checkpoint):
    out = tmp_path / "curves"
    args = [
        "--model",
        str(tiny_checkpoint),
        "--sizes",
        "1",
        "2",
        "--draws",
        "3",
        "--texts",
        "3",
        "--limit",
        "4",
    ]
    done = script("studies/pruning_curves.py", *args, "--out", str(out))
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    names = set(records[0]["scores"])
    assert {
        "full",
        "block_influence-1",
        "angular-2",
        "reverse-1",
        "reverse_keep_final-2",
        "random-block-2-2",
    } <= names
    assert (
        len(names) == 1 + 4 * 2 + 3 * 2 * 3
    )  # the full chain, 4 rules x 2 sizes, 3 forms x 2 sizes x 3 draws
    table = (out / "table.md").read_text()
    assert (
        "| 0 | full chain |" in table
        and table.count("| random, block |") == 2
        and (out / "curves.png").is_file()
    )
    again = script("studies/pruning_curves.py", *args, "--out", str(out))  # resumes: nothing left to score
    assert again.returncode == 0 and (out / "results.jsonl").read_text().count("\n") == 4
    test_split = script("studies/pruning_curves.py", *args, "--split", "test", "--out", str(tmp_path / "t"))
    assert test_split.returncode != 0
