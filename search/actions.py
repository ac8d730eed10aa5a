"""Chain edits: the moves of every search (skip a block, repeat a layer), and the legal children.

Faithful to the CoLa reference search: from a chain, an edit either skips a contiguous block of
1 or 2 steps at any position, or repeats the step at any position once, right after itself. A
chain never grows past ``max_length_factor`` times the model depth, never shrinks to nothing,
and two edits that give the same chain give one child.
"""

from __future__ import annotations

from dataclasses import dataclass

from search.types import Chain


@dataclass(frozen=True)
class EditConfig:
    skip_sizes: tuple[int, ...] = (1, 2)
    repeat: bool = True
    max_length_factor: float = 2.0

    def __post_init__(self):
        object.__setattr__(self, "skip_sizes", tuple(self.skip_sizes))  # hashable, whatever was given


@dataclass(frozen=True)
class Edit:
    kind: str  # "skip" or "repeat"
    position: int  # chain step where the edit applies
    size: int = 1

    def apply(self, chain: Chain) -> Chain:
        if self.kind == "skip":
            return chain[: self.position] + chain[self.position + self.size :]
        if self.kind == "repeat":
            return (
                chain[: self.position + 1]
                + chain[self.position : self.position + 1]
                + chain[self.position + 1 :]
            )
        raise ValueError(f"unknown edit kind {self.kind!r}")

    def __str__(self) -> str:
        return f"{self.kind}{self.size}@{self.position}" if self.kind == "skip" else f"repeat@{self.position}"


def max_length(n_layers: int, config: EditConfig) -> int:
    return int(config.max_length_factor * n_layers)


def legal_edits(chain: Chain, n_layers: int, config: EditConfig) -> list[Edit]:
    """Every edit of ``chain`` that keeps it non-empty and within the length limit."""
    edits = []
    for size in config.skip_sizes:
        if size < len(chain):
            edits += [Edit("skip", position, size) for position in range(len(chain) - size + 1)]
    if config.repeat and len(chain) + 1 <= max_length(n_layers, config):
        edits += [Edit("repeat", position) for position in range(len(chain))]
    return edits


def children(chain: Chain, n_layers: int, config: EditConfig) -> dict[Chain, Edit]:
    """Distinct child chains, each with the first edit (in :func:`legal_edits` order) that makes it."""
    result: dict[Chain, Edit] = {}
    for edit in legal_edits(chain, n_layers, config):
        result.setdefault(edit.apply(chain), edit)
    result.pop(chain, None)
    return result
