"""Chain files: the chains a search found, bound to the exact weights they were found on.

Format (JSON, ``"format": "cola-chains"``, ``"version": 1``)::

    {"format": "cola-chains", "version": 1,
     "model": {"name", "model_type", "n_layers", "fingerprint"},   # sha256 of the weights
     "source": {...},            # benchmark, split, mode, search, seed of the run
     "summary": {...},           # the run's rates
     "chains": [{"benchmark", "sample_id", "chain", "length", "original_correct"}, ...],
     "static_chain": "0-12,15-29" | null}

Loading checks the fingerprint: chains from one model are meaningless on another.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from cola.chain import Chain, format_chain, parse_chain

FORMAT = "cola-chains"
VERSION = 1


def weights_fingerprint(model: torch.nn.Module) -> str:
    """sha256 over parameter names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        tensor = tensor.detach().to("cpu").contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return "sha256:" + digest.hexdigest()


@dataclass(frozen=True)
class ChainEntry:
    benchmark: str
    sample_id: str
    chain: Chain
    original_correct: bool | None = None


@dataclass
class ChainFile:
    model_name: str
    model_type: str
    n_layers: int
    fingerprint: str
    chains: list[ChainEntry] = field(default_factory=list)
    source: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    static_chain: Chain | None = None

    def chain_for(self, sample_id: str) -> Chain:
        for entry in self.chains:
            if entry.sample_id == sample_id:
                return entry.chain
        raise KeyError(f"no chain for sample {sample_id!r} in this chain file")

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "model": {
                "name": self.model_name,
                "model_type": self.model_type,
                "n_layers": self.n_layers,
                "fingerprint": self.fingerprint,
            },
            "source": self.source,
            "summary": self.summary,
            "chains": [
                {
                    "benchmark": e.benchmark,
                    "sample_id": e.sample_id,
                    "chain": format_chain(e.chain),
                    "length": len(e.chain),
                    "original_correct": e.original_correct,
                }
                for e in self.chains
            ],
            "static_chain": format_chain(self.static_chain) if self.static_chain else None,
        }


def save_chain_file(chain_file: ChainFile, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(chain_file.to_json(), indent=2) + "\n")
    return path


def load_chain_file(path: str | Path, *, model: torch.nn.Module | None = None) -> ChainFile:
    """Read a chain file; with ``model``, refuse it unless the weights fingerprint matches."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"chain file not found: {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON ({error.msg} at line {error.lineno})") from error
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: not a cola chain file (format {data.get('format')!r})")
    if data.get("version") != VERSION:
        raise ValueError(
            f"{path}: chain file version {data.get('version')!r} is not supported (expected {VERSION})"
        )
    meta = data["model"]
    n_layers = meta["n_layers"]
    chain_file = ChainFile(
        model_name=meta["name"],
        model_type=meta["model_type"],
        n_layers=n_layers,
        fingerprint=meta["fingerprint"],
        chains=[
            ChainEntry(
                e["benchmark"], e["sample_id"], parse_chain(e["chain"], n_layers), e.get("original_correct")
            )
            for e in data["chains"]
        ],
        source=data.get("source", {}),
        summary=data.get("summary", {}),
        static_chain=parse_chain(data["static_chain"], n_layers) if data.get("static_chain") else None,
    )
    if model is not None:
        actual = weights_fingerprint(model)
        if actual != chain_file.fingerprint:
            raise ValueError(
                f"{path} was made for model {chain_file.model_name!r} (weights {chain_file.fingerprint[:19]}…), "
                f"not for this model (weights {actual[:19]}…); chains do not transfer between models"
            )
    return chain_file
