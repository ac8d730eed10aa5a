"""A learned edit prior: how often each edit (kind, layer, size) moved other questions' answers to
the gold choice rather than to a placebo, learned on a validation split and read from JSON.

It is the one source of guidance here that does not come from the target itself, so the placebo
twin, which uses the same prior, gains from it only as far as the prior carries no knowledge.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

FORMAT = "cola-edit-prior"


@lru_cache(maxsize=8)
def load_edit_prior(path: str, n_layers: int) -> dict[tuple, float]:
    """``(kind, layer, size) -> score`` from a prior file (see ``scripts/learn_edit_prior.py``),
    refused unless it was learned on a model of ``n_layers`` layers (a layer index means nothing
    on another depth)."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"edit prior file not found: {file}")
    data = json.loads(file.read_text())
    if data.get("format") != FORMAT:
        raise ValueError(f"{file}: not an edit prior file (format {data.get('format')!r})")
    if data.get("n_layers") != n_layers:
        raise ValueError(
            f"{file} was learned on a {data.get('n_layers')}-layer model; this one has {n_layers} layers"
        )
    return {(edit["kind"], edit["layer"], edit["size"]): float(edit["score"]) for edit in data["edits"]}
