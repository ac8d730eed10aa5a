"""Recalibrate the full chain's own choice scores on labelled questions: the output-side rival of
every chain policy at the same supervision.

A conditional logit over each question's choices (:class:`cola.policy.ChoiceCalibration`): the
answer is the choice maximizing ``w . features``, with ``w`` fit by maximum likelihood and a ridge
on training questions, the ridge chosen by validation accuracy. It reads the records of
``scripts/evaluate.py`` runs of the full chain (their choice scores, lengths and gold), so fitting
it costs no forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

from cola.policy import CHOICE_FEATURES, MAX_POSITIONS, ChoiceCalibration, choice_features

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

    start = np.zeros(len(CHOICE_FEATURES))
    start[0] = 1.0  # begin at the full chain's own ranking
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
