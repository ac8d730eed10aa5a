"""Chains of layers: the tuple form used everywhere and the text form users type.

A chain is a ``tuple[int, ...]`` of original layer indices, in execution order. Layers may be
skipped, repeated or reordered. Its text form joins inclusive ranges and single layers with
commas, e.g. ``0-9,9,10-29`` (layer 9 runs twice).
"""

from __future__ import annotations

from collections.abc import Iterable

Chain = tuple[int, ...]


def full_chain(n_layers: int) -> Chain:
    """The model's own depth: every layer once, in order."""
    if n_layers < 1:
        raise ValueError(f"a model needs at least one layer, got n_layers={n_layers}")
    return tuple(range(n_layers))


def validate_chain(chain: Iterable[int], n_layers: int) -> Chain:
    """Return ``chain`` as a tuple after checking it is non-empty and in range."""
    chain = tuple(chain)
    if not chain:
        raise ValueError("empty chain: a chain must run at least one layer")
    for step, layer_idx in enumerate(chain):
        if isinstance(layer_idx, bool) or not isinstance(layer_idx, int):
            raise ValueError(f"chain step {step} is {layer_idx!r}, expected an int layer index")
        if not 0 <= layer_idx < n_layers:
            raise ValueError(
                f"layer {layer_idx} (chain step {step}) out of range for a {n_layers}-layer model"
            )
    return chain


def _parse_part(part: str, n_layers: int) -> list[int]:
    bounds = part.split("-")
    if len(bounds) > 2 or not all(b.strip().isdigit() for b in bounds):
        raise ValueError(f"malformed chain part {part!r}: expected 'i' or 'i-j' with non-negative ints")
    start, end = int(bounds[0]), int(bounds[-1])
    for layer_idx in (start, end):
        if layer_idx >= n_layers:
            raise ValueError(f"layer {layer_idx} in part {part!r} out of range for a {n_layers}-layer model")
    if end < start:
        raise ValueError(f"descending range {part!r}: write reversed runs as single layers")
    return list(range(start, end + 1))


def parse_chain(text: str, n_layers: int) -> Chain:
    """Parse ``"0-9,9,10-29"`` into a chain for an ``n_layers``-layer model.

    Ranges are inclusive. Whitespace around parts is ignored. Raises ``ValueError`` naming the
    offending part for empty text, malformed parts, descending ranges and out-of-range layers.
    """
    if not isinstance(text, str):
        raise ValueError(f"chain text must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("empty chain text: a chain must run at least one layer")
    layers: list[int] = []
    for part in text.split(","):
        if not part.strip():
            raise ValueError(f"empty part in chain text {text!r}")
        layers.extend(_parse_part(part.strip(), n_layers))
    return validate_chain(layers, n_layers)


# Stored chains (a run's settings, a record) are parsed before a model is loaded: no depth to check.
_UNKNOWN_DEPTH = 1_000_000


def parse_stored_chain(text: str) -> Chain:
    """Parse a chain read from a file before the model's depth is known (layers are not range-checked)."""
    return parse_chain(text, _UNKNOWN_DEPTH)


def format_chain(chain: Iterable[int]) -> str:
    """Inverse of :func:`parse_chain`: ascending runs of consecutive layers become ranges."""
    chain = tuple(chain)
    if not chain:
        raise ValueError("empty chain: nothing to format")
    parts: list[str] = []
    run_start = prev = chain[0]
    for layer_idx in chain[1:]:
        if layer_idx == prev + 1:
            prev = layer_idx
            continue
        parts.append(_format_run(run_start, prev))
        run_start = prev = layer_idx
    parts.append(_format_run(run_start, prev))
    return ",".join(parts)


def _format_run(start: int, end: int) -> str:
    return str(start) if start == end else f"{start}-{end}"
