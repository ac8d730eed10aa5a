"""Label-free chain policies: pick the chain an input runs from what the model computes, with no
answer key, and keep them in one versioned file format.

A policy file is safetensors: its tensors are the policy's arrays, its metadata (strings) say
``format`` (``cola-policy``), ``version``, ``kind`` (a key of :data:`POLICY_KINDS`),
``trained_toward`` (what its supervision rewarded, e.g. ``gold``), and the weights it was made for
(``fingerprint``, ``n_layers``). Loading refuses other weights, an unknown kind or format and a
newer version, each with the reason. Router files written before this format (``cola-router/1``)
load as ``knn_router``. Learning a policy is a learner's job (``benchmarks/learners``); applying
one is model code, so it lives here for every entry point (evaluate, generate, lm-eval).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from cola.block_router import BlockRouter, checked_skip_confidence
from cola.chain import Chain, format_chain, parse_chain
from cola.choice_calibration import ChoiceCalibration
from cola.composer import ChainModel
from cola.dola import DolaPolicy

POLICY_FORMAT = "cola-policy"
POLICY_VERSION = 1
LEGACY_ROUTER_FORMAT = "cola-router/1"


class ChainPolicy(Protocol):
    """Chooses a chain per input; stored as arrays plus string metadata."""

    kind: ClassVar[str]

    def choose(self, chain_model: ChainModel, context_ids: torch.Tensor) -> Chain:
        """The chain to run for a context of token ids (1, T)."""
        ...

    def arrays(self) -> dict[str, np.ndarray]: ...

    def settings(self) -> dict[str, str]: ...


@torch.inference_mode()
def context_feature(chain_model: ChainModel, ids: torch.Tensor, *, layers: int) -> np.ndarray:
    """Mean hidden state of the tokens ``ids`` (1, T) after the first ``layers`` layers, L2-normalized."""
    hidden = chain_model.embed(ids.to(chain_model.device))
    inputs = chain_model.step_inputs(hidden)
    hidden = chain_model.run_steps(hidden, tuple(range(layers)), inputs)
    feature = hidden[0].float().mean(dim=0).cpu().numpy()
    return feature / (np.linalg.norm(feature) + 1e-8)


@dataclass(frozen=True)
class StaticChain:
    """One chain for every input (TALE's form of a label-free chain)."""

    chain: Chain
    kind: ClassVar[str] = "static"

    def choose(self, chain_model: ChainModel, context_ids: torch.Tensor) -> Chain:
        return self.chain

    def arrays(self) -> dict[str, np.ndarray]:
        return {"chain": np.asarray(self.chain, dtype=np.int64)}

    def settings(self) -> dict[str, str]:
        return {}

    @classmethod
    def from_file(cls, arrays: dict[str, np.ndarray], settings: dict[str, str], chain_model: ChainModel):
        return cls(chain_model.check_chain(int(layer) for layer in arrays["chain"]))


@dataclass
class KnnRouter:
    """Routes an input to the library chain its nearest training inputs did best with.

    The feature is the prompt's mean hidden state after ``feature_layers`` layers of the full chain;
    ``labels[n, k]`` says whether library chain k answered training input n correctly.
    """

    library: list[Chain]  # library[0] is the full chain, the fallback
    features: np.ndarray  # (N, D), unit rows
    labels: np.ndarray  # (N, K)
    neighbors: int = 10
    feature_layers: int = 4
    kind: ClassVar[str] = "knn_router"

    def scores(self, feature: np.ndarray) -> np.ndarray:
        nearest = np.argsort(-(self.features @ feature), kind="stable")[: self.neighbors]
        return self.labels[nearest].mean(axis=0)

    def route(self, feature: np.ndarray) -> int:
        scores = self.scores(feature)
        # Prefer shorter chains among equal scores; fall back unless strictly better than full.
        best = min(range(len(self.library)), key=lambda k: (-scores[k], len(self.library[k]), k))
        return best if scores[best] > scores[0] else 0

    def choose(self, chain_model: ChainModel, context_ids: torch.Tensor) -> Chain:
        return self.library[self.route(context_feature(chain_model, context_ids, layers=self.feature_layers))]

    def arrays(self) -> dict[str, np.ndarray]:
        return {"features": self.features.astype(np.float32), "labels": self.labels.astype(np.float32)}

    def settings(self) -> dict[str, str]:
        return {
            "library": json.dumps([format_chain(chain) for chain in self.library]),
            "neighbors": str(self.neighbors),
            "feature_layers": str(self.feature_layers),
        }

    @classmethod
    def from_file(cls, arrays: dict[str, np.ndarray], settings: dict[str, str], chain_model: ChainModel):
        width, hidden_size = arrays["features"].shape[1], chain_model.config.hidden_size
        if width != hidden_size:
            raise ValueError(f"the router holds {width}-wide features; the model's are {hidden_size}")
        return cls(
            library=[parse_chain(text, chain_model.n_layers) for text in json.loads(settings["library"])],
            features=arrays["features"],
            labels=arrays["labels"],
            neighbors=int(settings["neighbors"]),
            feature_layers=int(settings["feature_layers"]),
        )


@dataclass(frozen=True)
class ChainEnsemble:
    """Several chains answer together: the mean of their choice scores decides. It runs every
    chain, so it cannot be cheaper than one; it tests whether chains carry label-free accuracy."""

    chains: tuple[Chain, ...]
    kind: ClassVar[str] = "chain_ensemble"

    def choose(self, chain_model: ChainModel, context_ids: torch.Tensor) -> Chain:
        raise ValueError(
            "a chain ensemble runs all its chains and picks none; use scripts/evaluate.py policy=..."
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return {"lengths": np.array([len(chain) for chain in self.chains], dtype=np.int64)}

    def settings(self) -> dict[str, str]:
        return {"chains": json.dumps([format_chain(chain) for chain in self.chains])}

    @classmethod
    def from_file(cls, arrays: dict[str, np.ndarray], settings: dict[str, str], chain_model: ChainModel):
        return cls(tuple(parse_chain(text, chain_model.n_layers) for text in json.loads(settings["chains"])))


POLICY_KINDS = {
    "static": StaticChain,
    "knn_router": KnnRouter,
    "block_router": BlockRouter,
    "choice_calibration": ChoiceCalibration,
    "chain_ensemble": ChainEnsemble,
    "dola": DolaPolicy,
}


def save_policy(
    policy: ChainPolicy, path: str | Path, *, fingerprint: str, n_layers: int, trained_toward: str
) -> None:
    """Write ``policy`` for the weights with ``fingerprint`` (:func:`cola.chainfile.weights_fingerprint`)."""
    if policy.kind not in POLICY_KINDS:
        raise ValueError(f"unknown policy kind {policy.kind!r}; choose from {', '.join(POLICY_KINDS)}")
    header = {
        "format": POLICY_FORMAT,
        "version": str(POLICY_VERSION),
        "kind": policy.kind,
        "trained_toward": trained_toward,
        "fingerprint": fingerprint,
        "n_layers": str(n_layers),
    }
    save_file(policy.arrays(), str(path), metadata={**policy.settings(), **header})


def load_policy(path: str | Path, chain_model: ChainModel, *, fingerprint: str) -> ChainPolicy:
    """The policy saved at ``path``, refused (naming why) unless made for these weights."""
    arrays, metadata = read_policy(path, fingerprint=fingerprint, n_layers=chain_model.n_layers)
    try:
        return POLICY_KINDS[metadata["kind"]].from_file(arrays, metadata, chain_model)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def read_policy(path: str | Path, *, fingerprint: str, n_layers: int) -> tuple[dict[str, np.ndarray], dict]:
    """A policy file's arrays and metadata, refused (naming why) unless made for the weights with
    ``fingerprint`` and ``n_layers`` layers; no model is needed to check."""
    arrays, metadata = _read(Path(path))
    if metadata.get("format") == LEGACY_ROUTER_FORMAT:
        metadata = {**metadata, "format": POLICY_FORMAT, "version": "1", "kind": "knn_router"}
    if metadata.get("format") != POLICY_FORMAT:
        raise ValueError(
            f"{path} is not a cola policy (format {metadata.get('format')!r}, want {POLICY_FORMAT})"
        )
    if int(metadata["version"]) > POLICY_VERSION:
        raise ValueError(
            f"{path} is a version {metadata['version']} policy; this cola reads up to {POLICY_VERSION}"
        )
    if metadata.get("kind") not in POLICY_KINDS:
        raise ValueError(f"{path} holds a policy of unknown kind {metadata.get('kind')!r}")
    if metadata["fingerprint"] != fingerprint or int(metadata["n_layers"]) != n_layers:
        raise ValueError(
            f"{path} was trained on other weights ({metadata['fingerprint'][:19]}…, {metadata['n_layers']} "
            f"layers) than this model's ({fingerprint[:19]}…, {n_layers} layers)"
        )
    return arrays, metadata


def gate_router_skips(path: str | Path, out: str | Path, skip_confidence: float) -> None:
    """Copy the block router at ``path`` to ``out`` with its skips gated at ``skip_confidence``
    (:class:`cola.block_router.BlockRouter`); nothing else changes, the weights' check included."""
    arrays, metadata = _read(Path(path))
    if metadata.get("format") != POLICY_FORMAT or metadata.get("kind") != BlockRouter.kind:
        raise ValueError(f"{path} is not a block router policy (kind {metadata.get('kind')!r})")
    confidence = checked_skip_confidence(float(skip_confidence))
    save_file(arrays, str(out), metadata={**metadata, "skip_confidence": repr(confidence)})


def policy_sha256(path: str | Path) -> str:
    """A digest of what a policy file holds (its arrays and its metadata, sorted), unlike the file's
    bytes stable across saves: safetensors writes the metadata in no fixed order."""
    arrays, metadata = _read(Path(path))
    digest = hashlib.sha256(json.dumps(metadata, sort_keys=True).encode())
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _read(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    if not path.is_file():
        raise FileNotFoundError(f"policy file not found: {path}")
    try:
        with safe_open(str(path), framework="numpy") as handle:
            names = handle.keys()  # a safetensors handle is not iterable
            return {name: handle.get_tensor(name) for name in names}, handle.metadata() or {}
    except SafetensorError as error:
        raise ValueError(f"{path} is not a safetensors policy file: {error}") from None
