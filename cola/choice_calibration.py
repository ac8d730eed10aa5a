"""The full chain's choice scores recalibrated: the output-side rival of every chain policy.

A conditional logit over features of each choice (what the full chain says of it, and what it is
regardless of the model) picks the answer; the chain stays the full chain. Saved and loaded as a
policy of kind ``choice_calibration`` (:mod:`cola.policy`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from cola.chain import Chain
from cola.composer import ChainModel

MAX_POSITIONS = 5  # ARC lists at most five choices; later positions share the last indicator
CHOICE_FEATURES = (
    "score",
    "score_per_char",
    "score_per_token",
    "is_top",
    "is_runner_up",
    "log_chars",
    "tokens",
    *(f"position_{index}" for index in range(MAX_POSITIONS)),
)


def choice_features(scores, chars, tokens) -> np.ndarray:
    """(choices, features) of one question's choices, named by :data:`CHOICE_FEATURES`.

    What the full chain says of each choice (its summed log-probability, per character as
    acc_norm reads it, per token, whether it is the top or the runner-up) and what it is regardless
    of the model (its length and position)."""
    scores, chars, tokens = (np.asarray(values, dtype=np.float64) for values in (scores, chars, tokens))
    order = np.argsort(-scores, kind="stable")
    rank = np.empty(len(scores), dtype=int)
    rank[order] = np.arange(len(scores))
    position = np.zeros((len(scores), MAX_POSITIONS))
    position[np.arange(len(scores)), np.minimum(np.arange(len(scores)), MAX_POSITIONS - 1)] = 1.0
    columns = [
        scores,
        scores / np.maximum(chars, 1),
        scores / np.maximum(tokens, 1),
        (rank == 0).astype(float),
        (rank == 1).astype(float),
        np.log(np.maximum(chars, 1)),
        tokens,
    ]
    return np.column_stack([*columns, position])


@dataclass
class ChoiceCalibration:
    """The full chain with its choice scores recalibrated: the answer is the choice maximizing a
    learned linear score of :func:`choice_features` (a conditional logit). It changes no chain:
    the output-side rival of every chain policy at the same supervision."""

    weights: np.ndarray  # (features,), on standardized features
    mean: np.ndarray
    scale: np.ndarray
    kind: ClassVar[str] = "choice_calibration"

    def choose(self, chain_model: ChainModel, context_ids: torch.Tensor) -> Chain:
        return tuple(range(chain_model.n_layers))

    def logits(self, scores, chars, tokens) -> np.ndarray:
        return ((choice_features(scores, chars, tokens) - self.mean) / self.scale) @ self.weights

    def predict(self, scores, chars, tokens) -> int:
        return int(np.argmax(self.logits(scores, chars, tokens)))

    def arrays(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights, "mean": self.mean, "scale": self.scale}

    def settings(self) -> dict[str, str]:
        return {"features": json.dumps(CHOICE_FEATURES)}

    @classmethod
    def from_file(cls, arrays: dict[str, np.ndarray], settings: dict[str, str], chain_model: ChainModel):
        if tuple(json.loads(settings["features"])) != CHOICE_FEATURES:
            raise ValueError("the calibration was fit on other choice features than this cola computes")
        return cls(arrays["weights"], arrays["mean"], arrays["scale"])
