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
def load_edit_prior(path: str) -> dict[tuple, float]:
    """``(kind, layer, size) -> score`` from a prior file (see ``scripts/learn_edit_prior.py``)."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"edit prior file not found: {file}")
    data = json.loads(file.read_text())
    if data.get("format") != FORMAT:
        raise ValueError(f"{file}: not an edit prior file (format {data.get('format')!r})")
    return {(edit["kind"], edit["layer"], edit["size"]): float(edit["score"]) for edit in data["edits"]}
