"""A trained :class:`ChainRouter` on disk: safetensors with the training features and labels,
and the library, neighbour count and feature depth in its metadata, so a router found by the
router study can route requests elsewhere (``scripts/run_lm_eval.py --model_args router=...``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from benchmarks.experiments.router import ChainRouter
from cola import format_chain, parse_chain

ROUTER_FORMAT = "cola-router/1"


def save_router(router: ChainRouter, path: str | Path, *, fingerprint: str, n_layers: int) -> None:
    """Write ``router`` for the model whose weights have ``fingerprint`` (``weights_fingerprint``)."""
    metadata = {
        "format": ROUTER_FORMAT,
        "fingerprint": fingerprint,
        "n_layers": str(n_layers),
        "library": json.dumps([format_chain(chain) for chain in router.library]),
        "neighbors": str(router.neighbors),
        "feature_layers": str(router.feature_layers),
    }
    tensors = {"features": router.features.astype(np.float32), "labels": router.labels.astype(np.float32)}
    save_file(tensors, str(path), metadata=metadata)


def load_router(path: str | Path, *, fingerprint: str, n_layers: int, hidden_size: int) -> ChainRouter:
    """The router saved at ``path``; refused (naming why) when it was trained on other weights."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no router file at {path}; the router study writes router.safetensors")
    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in ("features", "labels")}
    except SafetensorError as error:
        raise ValueError(f"{path} is not a safetensors router file: {error}") from None
    if metadata.get("format") != ROUTER_FORMAT:
        raise ValueError(
            f"{path} is not a cola router (format {metadata.get('format')!r}, want {ROUTER_FORMAT})"
        )
    if metadata["fingerprint"] != fingerprint or int(metadata["n_layers"]) != n_layers:
        raise ValueError(
            f"{path} was trained on other weights ({metadata['fingerprint'][:19]}…, {metadata['n_layers']} "
            f"layers) than this model's ({fingerprint[:19]}…, {n_layers} layers)"
        )
    if tensors["features"].shape[1] != hidden_size:
        raise ValueError(
            f"{path} holds {tensors['features'].shape[1]}-wide features; the model's are {hidden_size}"
        )
    return ChainRouter(
        library=[parse_chain(text, n_layers) for text in json.loads(metadata["library"])],
        features=tensors["features"],
        labels=tensors["labels"],
        neighbors=int(metadata["neighbors"]),
        feature_layers=int(metadata["feature_layers"]),
    )
