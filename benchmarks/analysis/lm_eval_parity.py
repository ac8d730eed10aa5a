"""Per-question agreement between loglikelihood runs: lm-eval's samples files (``--log_samples``,
any model) and ``scripts/evaluate.py`` run directories, matched by row order on the same split."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Scored:
    """One question: each choice's summed loglikelihood and the argmax."""

    scores: tuple[float, ...]

    @property
    def prediction(self) -> int:
        return max(range(len(self.scores)), key=self.scores.__getitem__)


def read_scored(path: str | Path) -> list[Scored]:
    """Rows in order from an lm-eval samples ``.jsonl`` or an evaluate.py run directory."""
    path = Path(path)
    if path.is_dir():
        records = path / "results.jsonl"
        if not records.is_file():
            raise FileNotFoundError(f"{path} is not an evaluate.py run directory: no results.jsonl")
        return [Scored(tuple(json.loads(line)["scores"])) for line in records.open()]
    if not path.is_file():
        raise FileNotFoundError(f"no lm-eval samples file at {path}")
    rows = sorted((json.loads(line) for line in path.open()), key=lambda row: int(row["doc_id"]))
    return [Scored(tuple(float(loglik) for loglik, _ in _filtered(row))) for row in rows]


def _filtered(row: dict) -> list:
    # lm-eval writes the responses as a Python literal when a sample holds non-JSON values.
    value = row["filtered_resps"]
    return ast.literal_eval(value) if isinstance(value, str) else value


def agreement(first: list[Scored], second: list[Scored], rows: int | None = None) -> dict:
    """Same-prediction share and the largest loglikelihood difference over the first ``rows``."""
    count = min(len(first), len(second)) if rows is None else rows
    if count > min(len(first), len(second)):
        raise ValueError(f"asked for {count} rows, the runs hold {len(first)} and {len(second)}")
    pairs = list(zip(first[:count], second[:count], strict=True))
    for index, (a, b) in enumerate(pairs):
        if len(a.scores) != len(b.scores):
            raise ValueError(f"row {index}: {len(a.scores)} vs {len(b.scores)} choices; not the same rows")
    return {
        "rows": count,
        "same_prediction": sum(a.prediction == b.prediction for a, b in pairs),
        "max_abs_difference": max(
            abs(x - y) for a, b in pairs for x, y in zip(a.scores, b.scores, strict=True)
        ),
    }
