"""A learned edit prior: how often each edit (kind, layer, size) moved other questions' answers to
the gold choice rather than to a placebo (``score``), its place in the order to try edits in
(``rank``, which also counts what earlier edits already did), and how often it kept an originally-correct
answer (``keep``), learned on a validation split and read from JSON.

It is the one source of guidance here that does not come from the target itself, so the placebo
twin, which uses the same prior, gains from it only as far as the prior carries no knowledge.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

FORMAT = "cola-edit-prior"


@lru_cache(maxsize=8)
def _read_prior(path: str, n_layers: int) -> dict:
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"edit prior file not found: {file}")
    data = json.loads(file.read_text())
    if data.get("format") != FORMAT:
        raise ValueError(f"{file}: not an edit prior file (format {data.get('format')!r})")
    if data.get("split") == "test":
        raise ValueError(f"{file} was learned on a test split; learn priors on validation or train splits")
    if data.get("n_layers") != n_layers:
        raise ValueError(
            f"{file} was learned on a {data.get('n_layers')}-layer model; this one has {n_layers} layers"
        )
    return data


@lru_cache(maxsize=8)  # every sample's search asks; the mapping is built once per file
def load_edit_prior(path: str, n_layers: int) -> dict[tuple, float]:
    """``(kind, layer, size) -> priority`` (higher first) from a prior file (see
    ``scripts/learn_edit_prior.py``): minus the edit's greedy ``rank`` where the file has ranks,
    else its ``score``. Refused unless it was learned on a model of ``n_layers`` layers (a layer
    index means nothing on another depth)."""
    edits = _read_prior(path, n_layers)["edits"]
    if all("rank" in edit for edit in edits):
        return {_key(edit): -float(edit["rank"]) for edit in edits}
    return {_key(edit): float(edit["score"]) for edit in edits}


@lru_cache(maxsize=8)
def load_keep_prior(path: str, n_layers: int) -> dict[tuple, float]:
    """``(kind, layer, size) -> share of originally-correct questions whose answer the edit kept``."""
    edits = _read_prior(path, n_layers)["edits"]
    if any(edit.get("keep") is None for edit in edits):
        raise ValueError(f"{path} has no keep rates; learn it again with scripts/learn_edit_prior.py")
    return {_key(edit): float(edit["keep"]) for edit in edits}


def _key(edit: dict) -> tuple:
    return edit["kind"], edit["layer"], edit["size"]
