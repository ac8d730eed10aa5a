"""Recalibrate the full chain's own choice scores on labelled questions: the output-side rival of
every chain policy at the same supervision.

A conditional logit over each question's choices (:class:`cola.policy.ChoiceCalibration`): the
answer is the choice maximizing ``w . features``, with ``w`` fit by maximum likelihood and a ridge
on training questions, the ridge chosen by validation accuracy. It reads the records of
``scripts/evaluate.py`` runs of the full chain (their choice scores, lengths and gold), so fitting
it costs no forward pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

from benchmarks.results import SETTINGS_FILE, load_records
from cola.chain import parse_stored_chain
from cola.choice_calibration import CHOICE_FEATURES, MAX_POSITIONS, ChoiceCalibration, choice_features

RIDGES = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)


@dataclass(frozen=True)
class ChoiceData:
    """Every question's choices as one padded array."""

    features: np.ndarray  # (questions, MAX_POSITIONS, features); padding rows are zeros
    valid: np.ndarray  # (questions, MAX_POSITIONS) bool
    gold: np.ndarray  # (questions,)
    ids: list[str]


def record_inputs(record: dict) -> tuple[list[float], list[int], list[int]]:
    """A full-chain record's choice scores, character lengths and token counts."""
    missing = [key for key in ("scores", "choice_chars", "continuation_ids") if key not in record]
    if missing:
        raise ValueError(
            f"record {record.get('id')!r} lacks {', '.join(missing)}: calibrate on loglikelihood-mode "
            "records of scripts/evaluate.py"
        )
    return record["scores"], record["choice_chars"], [len(ids) for ids in record["continuation_ids"]]


def choice_data(records: list[dict]) -> ChoiceData:
    features = np.zeros((len(records), MAX_POSITIONS, len(CHOICE_FEATURES)))
    valid = np.zeros((len(records), MAX_POSITIONS), dtype=bool)
    for row, record in enumerate(records):
        scores, chars, tokens = record_inputs(record)
        if len(scores) > MAX_POSITIONS:
            raise ValueError(f"record {record['id']!r} has {len(scores)} choices; at most {MAX_POSITIONS}")
        features[row, : len(scores)] = choice_features(scores, chars, tokens)
        valid[row, : len(scores)] = True
    return ChoiceData(
        features, valid, np.array([record["gold"] for record in records]), [r["id"] for r in records]
    )


def _logits(data: ChoiceData, weights: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    logits = ((data.features - mean) / scale) @ weights
    return np.where(data.valid, logits, -np.inf)


def fit_calibration(data: ChoiceData, ridge: float) -> ChoiceCalibration:
    """Maximum likelihood of gold among each question's choices, with ``ridge``/2 * |w|^2."""
    rows = data.features[data.valid]
    mean, scale = rows.mean(axis=0), rows.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    standardized = np.where(data.valid[..., None], (data.features - mean) / scale, 0.0)
    count = len(data.gold)
    gold = np.eye(MAX_POSITIONS)[data.gold]

    def loss(weights: np.ndarray) -> tuple[float, np.ndarray]:
        logits = np.where(data.valid, standardized @ weights, -np.inf)
        normalizer = logsumexp(logits, axis=1)
        probabilities = np.exp(logits - normalizer[:, None])
        value = (normalizer - logits[np.arange(count), data.gold]).mean() + ridge / 2 * weights @ weights
        gradient = np.einsum("qc,qcf->f", probabilities - gold, standardized) / count + ridge * weights
        return float(value), gradient

    start = np.zeros(data.features.shape[-1])
    start[0] = 1.0  # begin at the full chain's own ranking (its score is the first feature)
    result = minimize(loss, start, jac=True, method="L-BFGS-B")
    return ChoiceCalibration(result.x, mean, scale)


def predictions(calibration: ChoiceCalibration, data: ChoiceData) -> np.ndarray:
    return _logits(data, calibration.weights, calibration.mean, calibration.scale).argmax(axis=1)


def accuracy(calibration: ChoiceCalibration, data: ChoiceData) -> float:
    return float((predictions(calibration, data) == data.gold).mean())


def fit_on_validation(
    train: ChoiceData, validation: ChoiceData, ridges: tuple[float, ...] = RIDGES
) -> tuple[ChoiceCalibration, float, dict[float, float]]:
    """The calibration fit on ``train`` with the ridge validation likes best (ties: the larger)."""
    scores = {ridge: accuracy(fit_calibration(train, ridge), validation) for ridge in ridges}
    best = max(ridges, key=lambda ridge: (round(scores[ridge], 12), ridge))
    return fit_calibration(train, best), best, scores


def calibrated_record(calibration: ChoiceCalibration, record: dict) -> dict:
    """A full-chain record answered by ``calibration``: what ``scripts/evaluate.py policy=`` writes
    for the question, since the calibration reads nothing but the full chain's scores."""
    scores, chars, tokens = record_inputs(record)
    prediction = calibration.predict(scores, chars, tokens)
    return record | {
        "prediction": prediction,
        "correct": prediction == record["gold"],
        "prediction_uncalibrated": record["prediction"],
    }


def full_chain_run(run_dir: Path, split: str | None = None) -> tuple[list[dict], dict]:
    """The records and settings of a full-chain evaluation of ``split``, or an error naming what differs."""
    settings_file = run_dir / SETTINGS_FILE
    if not settings_file.is_file():
        raise ValueError(f"{run_dir} is not a scripts/evaluate.py run (no {SETTINGS_FILE})")
    settings = json.loads(settings_file.read_text())
    records = load_records(run_dir)
    if not records:
        raise ValueError(f"{run_dir} holds no records")
    # The full chain of an L-layer model is 0..L-1 in order: its length is the model's depth.
    chain = () if settings["chain"].startswith("policy:") else parse_stored_chain(settings["chain"])
    n_layers = len(chain)
    problems = {
        f"split {settings['task']['split']!r}, not {split!r}": split is not None
        and settings["task"]["split"] != split,
        "a chain other than the full one, or a policy (not the full chain)": not chain
        or chain != tuple(range(n_layers)),
        "not loglikelihood mode": settings["task"]["mode"] != "loglikelihood",
    }
    if bad := [problem for problem, found in problems.items() if found]:
        raise ValueError(f"{run_dir} has {'; '.join(bad)}")
    return records, settings | {"n_layers": n_layers}
