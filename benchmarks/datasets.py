"""Benchmark datasets: GSM8K, ARC-Easy and ARC-Challenge as typed, validated examples.

Offline they read the vendored JSONL under ``benchmarks/data`` (licenses in its README); a user
may point ``path`` at their own JSONL in the same schema, or at a Hugging Face dataset id
(``hf:openai/gsm8k``) where the network allows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Choice:
    label: str
    text: str


@dataclass(frozen=True)
class MathExample:
    """A GSM8K word problem; ``answer`` is the final number as text (commas removed)."""

    id: str
    question: str
    answer: str
    solution: str


@dataclass(frozen=True)
class ChoiceExample:
    """A multiple-choice question; ``answer`` is the gold label (``A``-``E`` or ``1``-``4``)."""

    id: str
    question: str
    choices: tuple[Choice, ...]
    answer: str

    @property
    def gold_index(self) -> int:
        return [choice.label for choice in self.choices].index(self.answer)


Example = MathExample | ChoiceExample


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    kind: str  # "math" or "choice"
    files: dict[str, str]  # split -> path relative to DATA_DIR
    hub_id: tuple[str, str | None]  # (dataset id, config name) for load_dataset


BENCHMARKS: dict[str, BenchmarkSpec] = {
    "gsm8k": BenchmarkSpec(
        "gsm8k", "math", {"train": "gsm8k/train.jsonl", "test": "gsm8k/test.jsonl"}, ("openai/gsm8k", "main")
    ),
    "arc_easy": BenchmarkSpec(
        "arc_easy",
        "choice",
        {split: f"arc/ARC-Easy/{split}.jsonl" for split in ("train", "validation", "test")},
        ("allenai/ai2_arc", "ARC-Easy"),
    ),
    "arc_challenge": BenchmarkSpec(
        "arc_challenge",
        "choice",
        {split: f"arc/ARC-Challenge/{split}.jsonl" for split in ("train", "validation", "test")},
        ("allenai/ai2_arc", "ARC-Challenge"),
    ),
}


class DatasetError(ValueError):
    """A dataset file or row that cannot be used, with the file and line in the message."""


def benchmark_spec(name: str) -> BenchmarkSpec:
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; available: {', '.join(sorted(BENCHMARKS))}")
    return BENCHMARKS[name]


def load_benchmark(
    name: str, *, split: str, limit: int | None = None, path: str | None = None
) -> list[Example]:
    """The first ``limit`` examples of ``split`` (all when ``None``), in file order."""
    spec = benchmark_spec(name)
    if path is not None and path.startswith("hf:"):
        rows = _hub_rows(path[3:], spec, split)
        examples = [_parse_hub_row(spec, row, f"{path}[{split}]", index) for index, row in enumerate(rows)]
    else:
        file = Path(path) if path is not None else _vendored_file(spec, split)
        examples = _read_jsonl(file, spec)
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be a positive number of examples, got {limit}")
        examples = examples[:limit]
    return examples


def _vendored_file(spec: BenchmarkSpec, split: str) -> Path:
    if split not in spec.files:
        raise ValueError(f"{spec.name} has no split {split!r}; available: {', '.join(spec.files)}")
    return DATA_DIR / spec.files[split]


def _read_jsonl(file: Path, spec: BenchmarkSpec) -> list[Example]:
    if not file.is_file():
        raise FileNotFoundError(f"{spec.name} data file not found: {file}")
    examples = []
    with file.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise DatasetError(f"{file}:{line_number}: invalid JSON ({error.msg})") from error
            examples.append(_parse_row(spec, row, f"{file}:{line_number}"))
    if not examples:
        raise DatasetError(f"{file}: no examples")
    return examples


def _require(row: object, keys: tuple[str, ...], where: str) -> dict:
    if not isinstance(row, dict):
        raise DatasetError(f"{where}: expected a JSON object, got {type(row).__name__}")
    missing = [key for key in keys if key not in row]
    if missing:
        raise DatasetError(f"{where}: missing field(s) {', '.join(missing)}")
    return row


def _parse_row(spec: BenchmarkSpec, row: object, where: str) -> Example:
    if spec.kind == "math":
        row = _require(row, ("id", "question", "answer"), where)
        return MathExample(
            str(row["id"]), row["question"], str(row["answer"]).strip(), row.get("solution", "")
        )
    row = _require(row, ("id", "question", "choices", "answer"), where)
    choices = row["choices"]
    if not isinstance(choices, list) or len(choices) < 2:
        raise DatasetError(f"{where}: 'choices' must be a list of at least two {{label, text}} objects")
    parsed = tuple(Choice(str(_require(c, ("label", "text"), where)["label"]), c["text"]) for c in choices)
    labels = [choice.label for choice in parsed]
    if row["answer"] not in labels:
        raise DatasetError(f"{where}: answer {row['answer']!r} is not one of the labels {labels}")
    return ChoiceExample(str(row["id"]), row["question"], parsed, row["answer"])


def _parse_hub_row(spec: BenchmarkSpec, row: dict, source: str, index: int) -> Example:
    """Map the hub schemas (openai/gsm8k, allenai/ai2_arc) onto the vendored one."""
    where = f"{source} row {index}"
    if spec.kind == "math":
        row = _require(row, ("question", "answer"), where)
        final = row["answer"].split("####")[-1].strip().replace(",", "")
        return _parse_row(
            spec,
            {
                "id": f"{spec.name}-{index:04d}",
                "question": row["question"],
                "answer": final,
                "solution": row["answer"],
            },
            where,
        )
    row = _require(row, ("id", "question", "choices", "answerKey"), where)
    choices = [
        {"label": label, "text": text}
        for label, text in zip(row["choices"]["label"], row["choices"]["text"], strict=True)
    ]
    return _parse_row(
        spec,
        {"id": row["id"], "question": row["question"], "choices": choices, "answer": row["answerKey"]},
        where,
    )


def _hub_rows(dataset_id: str, spec: BenchmarkSpec, split: str):
    try:
        from datasets import load_dataset
    except ImportError as error:
        raise ImportError(f"loading {dataset_id!r} from the hub needs `pip install datasets`") from error
    config = spec.hub_id[1] if dataset_id == spec.hub_id[0] else None
    try:
        return load_dataset(dataset_id, config, split=split)
    except Exception as error:  # noqa: BLE001 - any hub failure gets the same instructions
        raise OSError(
            f"cannot load dataset {dataset_id!r} split {split!r} from the hub (offline?); "
            f"pass a local JSONL path instead, or use the vendored data (path=None)"
        ) from error
