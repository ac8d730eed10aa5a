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
    with pytest.raises(ValueError, match="keep_rate rule reads single-skip keep rates"):
        removed_layers("keep_rate", 2, 4)
    with pytest.raises(ValueError, match="unknown pruning rule 'magnitude'"):
        removed_layers("magnitude", 2, 4, stats=LayerStats(4, [2]))


def test_keep_rate_reads_a_static_races_single_skip_screen(tmp_path):
    path = tmp_path / "path.json"
    path.write_text(json.dumps({"single_keep_rates": [0.2, 0.9, 0.9, 0.5]}))
    assert removed_layers("keep_rate", 2, 4, prior_file=str(path)) == [1, 2]  # ties: the lower first
    assert removed_layers("keep_rate", 3, 4, prior_file=str(path)) == [1, 2, 3]
    with pytest.raises(ValueError, match="screens 4 layers; the model has 5"):
        removed_layers("keep_rate", 2, 5, prior_file=str(path))
    with pytest.raises(FileNotFoundError, match="keep-rate file not found"):
        removed_layers("keep_rate", 2, 4, prior_file=str(tmp_path / "nowhere.json"))


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


def test_pruning_curves_score_every_rule_beside_its_random_removals(tmp_path, tiny_checkpoint, capsys):
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
    # The command line ran once above; the rest runs in this process (an interpreter a run saved).
    from scripts.studies import pruning_curves, pruning_test

    def curves(*arguments):
        pruning_curves.main(pruning_curves.parser().parse_args([*map(str, arguments)]))

    for index in (0, 1):  # the same run in two shards, tabled from their folders
        curves(*args, "--shard", f"{index}/2", "--out", tmp_path / f"s{index}")

    def table_of(*folders, out):
        curves("--out", out, "--table", *folders)
        return (out / "table.md").read_text()

    assert table_of(tmp_path / "s0", tmp_path / "s1", out=tmp_path / "merged") == table
    # a merged folder (its settings list both shard indexes) tables again alone: committed records refit
    assert table_of(tmp_path / "merged", out=tmp_path / "refit") == table
    statistics = json.loads((out / "statistics.json").read_text())
    full = statistics["full"]["accuracy"]
    assert f"| 0 | full chain | {full:.3f} |" in table
    for curve in statistics["rules"].values():
        for point in curve["sizes"].values():
            assert point["difference"] == pytest.approx(point["accuracy"] - full)
            low, high = point["difference_ci"]
            assert low <= point["difference"] <= high and 0 <= point["share_of_random_below"] <= 1
    curves(*args, "--out", out)  # resumes: nothing left to score
    assert (out / "results.jsonl").read_text().count("\n") == 4
    with pytest.raises(SystemExit, match="2"):  # the curves pick sizes: never on a test split
        curves(*args, "--split", "test", "--out", tmp_path / "t")
    assert "invalid choice: 'test'" in capsys.readouterr().err
    reading = ["--validation", out, "--model", tiny_checkpoint, "--limit", "3", "--out", tmp_path / "test"]
    pruning_test.main(pruning_test.parser().parse_args([*map(str, reading)]))
    assert (tmp_path / "test" / "table-statistics.json").is_file() and (
        tmp_path / "test" / "table.md"
    ).is_file()
    tested = [json.loads(line) for line in (tmp_path / "test" / "results.jsonl").read_text().splitlines()]
    assert len(tested) == 3 and {r["split"] for r in tested} == {"test"}
    # each rule read at the size validation picked, with its form's draws at that size, nothing else
    _, validation, chains = pruning_test.validation_run(out)
    picked = pruning_test.picked_chains(validation, chains)
    expected = {"full"} | {n for name, size, controls in picked.values() if size for n in [name, *controls]}
    assert set(tested[0]["scores"]) == expected
    assert any(size for _, size, _ in picked.values()), picked  # the tiny model keeps some rule
    assert all(len(controls) == 3 for _, size, controls in picked.values() if size)
    assert all(len(r["scores"]) == len(tested[0]["scores"]) for r in tested)


def pruned_records(accuracies: dict[str, list[bool]]) -> list[dict]:
    """Records whose chain ``name`` answers right where its flags say (gold 0, wrong answer 1)."""
    n = len(next(iter(accuracies.values())))
    return [
        {
            "gold": 0,
            "scores": {name: [1.0, 0.0] if flags[q] else [0.0, 1.0] for name, flags in accuracies.items()},
        }
        for q in range(n)
    ]


def test_validation_picks_the_largest_removal_within_one_point():
    from benchmarks.analysis.pruning_curves import chosen_size, share_of_random_below

    right = [True] * 100
    records = pruned_records(
        {
            "full": right,
            "rule-1": right,
            "rule-2": [True] * 99 + [False],  # one point down: kept
            "rule-4": [True] * 97 + [False] * 3,  # three down: not kept
            "other-1": [True] * 90 + [False] * 10,
            "random-any-2-0": [True] * 50 + [False] * 50,
            "random-any-2-1": right,
        }
    )
    assert chosen_size(records, "rule", [1, 2, 4]) == 2
    assert chosen_size(records, "other", [1]) is None
    # the rule (0.99) beats one random draw (0.50) and loses to the other (1.00)
    assert share_of_random_below(records, "rule-2", ["random-any-2-0", "random-any-2-1"]) == 0.5


def test_the_test_split_is_not_read_when_validation_keeps_no_rule(tmp_path, capsys):
    from scripts.studies import pruning_test

    folder = tmp_path / "validation"
    folder.mkdir()
    records = pruned_records(
        {"full": [True] * 100, "reverse-1": [True] * 98 + [False] * 2, "random-block-1-0": [True] * 100}
    )
    (folder / "results.jsonl").write_text(
        "".join(json.dumps(r | {"id": str(q)}) + "\n" for q, r in enumerate(records))
    )
    settings = {
        "task": {"split": "validation"},
        "chains": {"full": "0-3", "reverse-1": "0-2", "random-block-1-0": "1-3"},
    }
    (folder / "run_settings.json").write_text(json.dumps(settings))
    arguments = ["--validation", str(folder), "--model", "no-such-model", "--out", str(tmp_path / "test")]
    pruning_test.main(pruning_test.parser().parse_args(arguments))  # returns before loading the model
    assert "no rule keeps its validation accuracy within one point" in capsys.readouterr().out
    assert not (tmp_path / "test").exists()


def test_curve_statistics_hold_each_rules_figures_against_the_full_chain_and_its_form():
    from benchmarks.analysis.pruning_curves import curve_statistics, curves_table

    right, n = [True] * 100, 100
    flags = {
        "full": right,
        "reverse-1": [True] * 99 + [False],  # one point down: within one point
        "reverse-2": [True] * 90 + [False] * 10,
    }
    for size, accuracies in {1: (0.5, 0.95, 1.0), 2: (0.8, 0.85, 0.95)}.items():
        for form in ("any", "block", "any_but_final"):
            for draw, accuracy in enumerate(accuracies):
                kept = round(accuracy * n)
                flags[f"random-{form}-{size}-{draw}"] = [True] * kept + [False] * (n - kept)
    statistics = curve_statistics(pruned_records(flags), [1, 2], 3, ["reverse"])
    curve = statistics["rules"]["reverse"]
    assert curve["control"] == "block" and curve["chosen_size"] == 1
    one, two = curve["sizes"]["1"], curve["sizes"]["2"]
    assert one["difference"] == pytest.approx(-0.01) and two["difference"] == pytest.approx(-0.10)
    assert two["difference_ci"][1] < 0 <= one["difference_ci"][1]  # ten lost answers: below zero
    assert one["share_of_random_below"] == pytest.approx(2 / 3)  # above 0.50 and 0.95, below 1.00
    assert two["share_of_random_below"] == pytest.approx(2 / 3)  # above 0.80 and 0.85, below 0.95
    assert statistics["random"]["block"]["2"]["accuracy"]["median"] == pytest.approx(0.85)
    assert "| 2 | reverse (control: block) | 0.900 | -0.100 (" in curves_table(statistics)


def test_the_test_reading_gives_each_picked_rule_against_the_full_chain_on_rows_500_on():
    from benchmarks.analysis.pruning_curves import split_reading_statistics, split_reading_table
    from benchmarks.datasets import load_benchmark

    ids = [example.id for example in load_benchmark("arc_easy", split="test")[:600]]
    # The rule loses one answer among the development rows and five among rows 500+.
    rule = [True] * 499 + [False] + [True] * 95 + [False] * 5
    flags = {
        "full": [True] * 600,
        "keep_rate-1": rule,
        "random-any-1-0": [False] * 600,
        "random-any-1-1": [True] * 600,
    }
    records = [
        record | {"id": ids[row], "benchmark": "arc_easy", "split": "test"}
        for row, record in enumerate(pruned_records(flags))
    ]
    picked = {
        "keep_rate": ("keep_rate-1", 1, ["random-any-1-0", "random-any-1-1"]),
        "reverse": ("reverse-None", None, []),
    }
    statistics = split_reading_statistics(records[::-1], picked)  # row order comes from the ids
    assert list(statistics) == ["all rows", "rows 0–499", "rows 500+"]
    fresh = statistics["rows 500+"]
    assert fresh["n_questions"] == 100 and fresh["full"]["accuracy"] == 1.0
    point = fresh["rules"]["keep_rate"]
    assert point["difference"] == pytest.approx(-0.05) and point["difference_ci"][1] < 0
    assert point["share_of_random_below"] == pytest.approx(0.5)  # above 0.00, below 1.00
    assert statistics["rows 0–499"]["rules"]["keep_rate"]["difference"] == pytest.approx(-0.002)
    assert fresh["rules"]["reverse"] is None
    table = split_reading_table(statistics)
    assert "**rows 500+** (100 questions; full chain 1.000)" in table
    assert "| keep_rate | 1 | 0.950 | -0.050 (" in table
    assert "| reverse | none within one point on validation |" in table
