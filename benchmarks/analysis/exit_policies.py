"""Label-free and unsupervised answers read off exit records (no forward pass): the full chain,
lm-eval's ``acc_norm`` (score per character), domain-conditional PMI (score less the score after
the neutral premise), a DoLa variant. Each becomes records the policy table reads."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Answer = Callable[[dict], int]


def final_scores(record: dict) -> np.ndarray:
    return np.asarray(record["exit_scores"][record["exits"].index(record["n_layers"])], dtype=float)


def full_chain(record: dict) -> int:
    return int(np.argmax(final_scores(record)))


def acc_norm(record: dict) -> int:
    return int(np.argmax(final_scores(record) / np.asarray(record["choice_chars"], dtype=float)))


def pmi(record: dict) -> int:
    if "neutral_scores" not in record:
        raise ValueError(f"record {record['id']!r} has no neutral_scores: record the exits with the premise")
    return int(np.argmax(final_scores(record) - np.asarray(record["neutral_scores"], dtype=float)))


def dola(variant: str) -> Answer:
    return lambda record: int(np.argmax(record["dola_scores"][variant]))


def answered(records: list[dict], answer: Answer) -> list[dict]:
    """Records as the policy table reads them: prediction, correctness, the full chain's layers;
    no seconds (derived from another run's records)."""
    rows = []
    for record in records:
        prediction = answer(record)
        rows.append(
            {
                "id": record["id"],
                "benchmark": record["benchmark"],
                "split": record["split"],
                "gold": record["gold"],
                "prediction": prediction,
                "correct": prediction == record["gold"],
                "chain_length": record["n_layers"],
                "seconds": None,
            }
        )
    return rows
