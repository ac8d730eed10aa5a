import json

import pytest

from benchmarks.datasets import ChoiceExample, DatasetError, MathExample, load_benchmark


@pytest.mark.parametrize(
    ("name", "split", "count"),
    [
        ("gsm8k", "test", 1319),
        ("gsm8k", "train", 7473),
        ("arc_easy", "test", 2376),
        ("arc_challenge", "validation", 299),
    ],
)
def test_vendored_splits_have_published_sizes(name, split, count):
    assert len(load_benchmark(name, split=split)) == count


def test_gsm8k_rows_are_typed():
    first = load_benchmark("gsm8k", split="test", limit=1)[0]
    assert isinstance(first, MathExample)
    assert first.id == "gsm8k-test-0000" and first.answer == "18"
    assert first.solution.endswith("#### 18")


def test_arc_rows_keep_numeric_labels():
    examples = load_benchmark("arc_easy", split="test")
    numeric = [e for e in examples if e.choices[0].label == "1"]
    assert len(numeric) == 97
    assert all(isinstance(e, ChoiceExample) and e.answer in {c.label for c in e.choices} for e in numeric)


def test_limit_takes_the_first_rows():
    assert [e.id for e in load_benchmark("arc_easy", split="test", limit=3)] == [
        e.id for e in load_benchmark("arc_easy", split="test")[:3]
    ]
    with pytest.raises(ValueError, match="limit must be a positive"):
        load_benchmark("arc_easy", split="test", limit=0)


def test_unknown_benchmark_and_split():
    with pytest.raises(
        ValueError, match="unknown benchmark 'mmlu'; available: arc_challenge, arc_easy, gsm8k"
    ):
        load_benchmark("mmlu", split="test")
    with pytest.raises(ValueError, match="gsm8k has no split 'validation'; available: train, test"):
        load_benchmark("gsm8k", split="validation")


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="arc_easy data file not found: .*missing.jsonl"):
        load_benchmark("arc_easy", split="test", path=str(tmp_path / "missing.jsonl"))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "invalid JSON"),
        (json.dumps({"id": "x", "question": "q", "choices": []}), "missing field\\(s\\) answer"),
        (
            json.dumps({"id": "x", "question": "q", "choices": [{"label": "A", "text": "a"}], "answer": "A"}),
            "at least two",
        ),
        (
            json.dumps(
                {
                    "id": "x",
                    "question": "q",
                    "choices": [{"label": "A", "text": "a"}, {"label": "B", "text": "b"}],
                    "answer": "C",
                }
            ),
            "answer 'C' is not one of the labels",
        ),
        (json.dumps(["a", "list"]), "expected a JSON object"),
    ],
)
def test_malformed_row_names_file_and_line(tmp_path, line, message):
    good = json.dumps(
        {
            "id": "ok",
            "question": "q",
            "choices": [{"label": "A", "text": "a"}, {"label": "B", "text": "b"}],
            "answer": "A",
        }
    )
    path = tmp_path / "bad.jsonl"
    path.write_text(good + "\n" + line + "\n")
    with pytest.raises(DatasetError, match=f"bad.jsonl:2: .*{message}"):
        load_benchmark("arc_easy", split="test", path=str(path))


def test_local_path_overrides_vendored_data():
    examples = load_benchmark("arc_easy", split="test", path="tests/fixtures/arc_mixed.jsonl")
    assert [e.id for e in examples] == ["arc-1", "arc-2", "arc-3", "arc-4", "arc-5"]
    assert examples[1].gold_index == 0 and examples[1].choices[0].label == "1"
