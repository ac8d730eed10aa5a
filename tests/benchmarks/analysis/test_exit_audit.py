"""The exit audit's table from exit records: every method on the whole split and on rows 500+."""

from __future__ import annotations

import json

import numpy as np

from benchmarks.analysis.exit_policies import acc_norm, answered, full_chain, pmi
from benchmarks.datasets import load_benchmark
from tests.benchmarks.runs.test_search_run import script


def exit_records(split: str, n: int, seed: int) -> list[dict]:
    """Real question ids and gold of ``split`` with noise scores in which exit 2 leans to gold."""
    rng = np.random.default_rng(seed)
    out = []
    for example in load_benchmark("arc_easy", split=split)[:n]:
        count, gold = len(example.choices), example.gold_index
        middle = rng.normal(-10, 1, count)
        middle[gold] += 1.5
        out.append(
            {
                "id": example.id,
                "benchmark": "arc_easy",
                "split": split,
                "gold": gold,
                "n_layers": 4,
                "exits": [0, 2, 4],
                "exit_scores": [
                    rng.normal(-10, 1, count).tolist(),
                    middle.tolist(),
                    rng.normal(-10, 1, count).tolist(),
                ],
                "neutral_scores": rng.normal(-8, 1, count).tolist(),
                "dola_scores": {
                    name: rng.normal(-5, 1, count).tolist() for name in ("static-2", "low", "high")
                },
                "choice_chars": [len(choice.text) for choice in example.choices],
                "choice_tokens": [max(1, len(choice.text) // 4) for choice in example.choices],
            }
        )
    return out


def test_answers_read_off_a_record():
    record = {
        "id": "q",
        "benchmark": "arc_easy",
        "split": "test",
        "gold": 1,
        "n_layers": 2,
        "exits": [2],
        "exit_scores": [[-4.0, -6.0]],
        "choice_chars": [2, 6],
        "neutral_scores": [-1.0, -5.0],
    }
    assert full_chain(record) == 0 and acc_norm(record) == 1 and pmi(record) == 1
    assert answered([record], pmi)[0] | {} == {
        "id": "q",
        "benchmark": "arc_easy",
        "split": "test",
        "gold": 1,
        "prediction": 1,
        "correct": True,
        "chain_length": 2,
        "seconds": None,
    }


def test_the_audit_prints_every_method_on_both_slices(tmp_path):
    paths = {}
    for split, n, seed in (("train", 300, 0), ("validation", 150, 1), ("test", 650, 2)):
        paths[split] = tmp_path / f"{split}.jsonl"
        paths[split].write_text("".join(json.dumps(r) + "\n" for r in exit_records(split, n, seed)))
    done = script("studies/exit_audit.py", *(f"--{s}={p}" for s, p in paths.items()))
    assert done.returncode == 0, done.stderr
    assert "**all rows**" in done.stdout and "**rows 500+**" in done.stdout
    for method in (
        "| full chain |",
        "| acc_norm |",
        "| PMI |",
        "| DoLa static-2 |",
        "| DoLa low |",
        "| DoLa high |",
        "| calibration |",
    ):
        assert done.stdout.count(method) == 2, method
    rows = [line for line in done.stdout.splitlines() if line.startswith("| exit calibration | 650 |")]
    assert rows and float(rows[0].split("|")[3].split()[0]) > 0.4  # the leaning exit is found
    swapped = script(
        "studies/exit_audit.py",
        f"--train={paths['test']}",
        f"--validation={paths['validation']}",
        f"--test={paths['train']}",
    )
    assert swapped.returncode != 0 and "its own split's records" in swapped.stderr


def test_without_a_test_split_the_audit_reads_validation_and_says_so(tmp_path):
    paths = {}
    for split, n, seed in (("train", 200, 0), ("validation", 120, 1)):
        paths[split] = tmp_path / f"{split}.jsonl"
        paths[split].write_text("".join(json.dumps(r) + "\n" for r in exit_records(split, n, seed)))
    done = script("studies/exit_audit.py", *(f"--{s}={p}" for s, p in paths.items()))
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.startswith("Read on the validation records")
        and "| exit calibration | 120 |" in done.stdout
    )


def test_the_primary_comparison_pools_cells_by_question(tmp_path):
    cells = []
    for cell, offset in (("A", 0), ("B", 10)):
        paths = []
        for split, n, seed in (
            ("train", 200, offset),
            ("validation", 100, offset + 1),
            ("test", 600, offset + 2),
        ):
            path = tmp_path / f"{cell}-{split}.jsonl"
            path.write_text("".join(json.dumps(r) + "\n" for r in exit_records(split, n, seed)))
            paths.append(str(path))
        cells.append(f"{cell}={','.join(paths)}")
    done = script("studies/exit_pooled.py", *cells, f"--statistics={tmp_path / 'pooled.json'}")
    assert done.returncode == 0, done.stderr
    saved = json.loads((tmp_path / "pooled.json").read_text())
    assert saved["learned_from"] == {"train": 400, "validation": 200}  # both cells' questions
    assert saved["calibration"]["rows 500+"]["pooled"]["n_pairs"] == 200 and set(saved["records"]) == {
        "A",
        "B",
    }
    assert (
        "**exit calibration − calibration**" in done.stdout
        and "**exit calibration − full chain**" in done.stdout
    )
    pooled = [line for line in done.stdout.splitlines() if "| rows 500+ | **pooled**" in line]
    assert len(pooled) == 2 and all("| 200 |" in line for line in pooled)  # 100 rows 500+ in each cell
    bad = script("studies/exit_pooled.py", f"A={cells[0].split('=')[1].rsplit(',', 1)[0]}")
    assert bad.returncode != 0 and "TRAIN,VALIDATION,TEST" in bad.stderr
