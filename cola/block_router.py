"""A trained router (Dr.LLM's form): before each block of layers a small MLP reads the prompt's
pooled hidden state at that point of the chain and decides to skip, execute or repeat the block.

The prompt decides for the whole sequence: the chain is fixed once the context has been walked
through the blocks, and every continuation then runs that chain. The same walk serves training
(the decisions forced to a target chain's, collecting the features the router will see) and
inference (the decisions the MLPs take).

A skip can be made to need confidence (``skip_confidence``): the block runs unless the MLP gives
"skip" at least that probability. It trades layers for agreement with the full chain without
retraining, so validation can choose where on that curve a router sits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from cola.chain import Chain
from cola.composer import ChainModel, StepInputs

SKIP, EXECUTE, REPEAT = 0, 1, 2
DECISIONS = ("skip", "execute", "repeat")

Block = tuple[int, int]  # layers [start, end)


def layer_blocks(n_layers: int, size: int) -> list[Block]:
    """Consecutive blocks of ``size`` layers (the last may be shorter)."""
    if size < 1:
        raise ValueError(f"a block holds at least one layer, got size {size}")
    return [(start, min(start + size, n_layers)) for start in range(0, n_layers, size)]


def checked_skip_confidence(value: float) -> float:
    """``value`` if it can gate skips: a probability below 1 (at 1 no skip would ever stand)."""
    if not 0.0 <= value < 1.0:
        raise ValueError(f"skip_confidence must be in [0, 1), got {value}")
    return value


def chain_of(decisions: list[int], blocks: list[Block]) -> Chain:
    """The chain the decisions make: each block's layers 0, 1 or 2 times (skip, execute, repeat)."""
    return tuple(
        layer
        for decision, (start, end) in zip(decisions, blocks, strict=True)
        for layer in tuple(range(start, end)) * decision
    )


def block_decisions(chain: Chain, blocks: list[Block]) -> list[int] | None:
    """The decisions whose chain is ``chain``, or None: it is not a sequence of whole blocks, each
    skipped, run once or run twice in a row."""
    decisions, position = [], 0
    for start, end in blocks:
        block = tuple(range(start, end))
        count = 0
        while count < 2 and chain[position : position + len(block)] == block:
            position += len(block)
            count += 1
        decisions.append(count)
    return decisions if position == len(chain) else None


@dataclass(frozen=True)
class Walk:
    """What walking a prompt through the blocks gives: the decisions, the feature each was taken
    on (K, H), and the prompt's final hidden states under the chain the decisions make."""

    decisions: list[int]
    features: np.ndarray
    final: torch.Tensor


@torch.inference_mode()
def walk_prompt(
    chain_model: ChainModel,
    hidden: torch.Tensor,
    inputs: StepInputs,
    blocks: list[Block],
    decide: Callable[[int, np.ndarray], int],
    *,
    context_tokens: int,
) -> Walk:
    """Walk an embedded prompt (1, T, H) through ``blocks``: before block k, ``decide(k, feature)``
    with the mean hidden state over the prompt's first ``context_tokens`` tokens at that point.

    The prompt may hold more than the context (a packed prompt's answer choices after it): the
    context's tokens see only each other, so its features are the context-only walk's, and the
    final states score the choices under the chosen chain with no second pass."""
    if not 0 < context_tokens <= hidden.shape[1]:
        raise ValueError(f"context_tokens must be in [1, {hidden.shape[1]}], got {context_tokens}")
    decisions, features = [], []
    for index, (start, end) in enumerate(blocks):
        feature = hidden[0, :context_tokens].float().mean(dim=0).cpu().numpy()
        features.append(feature)
        decision = decide(index, feature)
        decisions.append(decision)
        steps = tuple(range(start, end)) * decision
        if steps:
            hidden = chain_model.run_steps(hidden, steps, inputs)
    return Walk(decisions, np.stack(features), hidden)


def walk_blocks(
    chain_model: ChainModel,
    context_ids: torch.Tensor,
    blocks: list[Block],
    decide: Callable[[int, np.ndarray], int],
) -> tuple[list[int], np.ndarray]:
    """Walk the context (1, T) through ``blocks`` (see :func:`walk_prompt`); (decisions, features)."""
    with torch.inference_mode():
        hidden = chain_model.embed(context_ids.to(chain_model.device))
        inputs = chain_model.step_inputs(hidden)
    walk = walk_prompt(chain_model, hidden, inputs, blocks, decide, context_tokens=context_ids.shape[1])
    return walk.decisions, walk.features


@dataclass
class BlockRouter:
    """Per-block MLPs (features -> hidden ReLU -> skip / execute / repeat) on standardized features."""

    blocks: list[Block]
    mean: np.ndarray  # (K, H)
    scale: np.ndarray  # (K, H)
    w1: np.ndarray  # (K, H, h)
    b1: np.ndarray  # (K, h)
    w2: np.ndarray  # (K, h, 3)
    b2: np.ndarray  # (K, 3)
    skip_confidence: float = 0.0  # a skip needs at least this probability; 0: the likeliest decision
    kind: ClassVar[str] = "block_router"

    def logits(self, index: int, feature: np.ndarray) -> np.ndarray:
        x = (feature - self.mean[index]) / self.scale[index]
        return np.maximum(x @ self.w1[index] + self.b1[index], 0.0) @ self.w2[index] + self.b2[index]

    def decide(self, index: int, feature: np.ndarray) -> int:
        logits = self.logits(index, feature)
        decision = int(np.argmax(logits))
        if decision == SKIP and self.skip_confidence > 0.0:
            probabilities = np.exp(logits - logits.max())
            if probabilities[SKIP] / probabilities.sum() < self.skip_confidence:
                return EXECUTE
        return decision

    def choose(self, chain_model: ChainModel, context_ids: torch.Tensor) -> Chain:
        decisions, _ = walk_blocks(chain_model, context_ids, self.blocks, self.decide)
        return self.chain_from(decisions, chain_model.n_layers)

    def chain_from(self, decisions: list[int], n_layers: int) -> Chain:
        """The chain ``decisions`` make; the full chain where they skip every block (no chain)."""
        return chain_of(decisions, self.blocks) or tuple(range(n_layers))

    def arrays(self) -> dict[str, np.ndarray]:
        names = ("mean", "scale", "w1", "b1", "w2", "b2")
        return {name: np.ascontiguousarray(getattr(self, name), dtype=np.float32) for name in names}

    def settings(self) -> dict[str, str]:
        return {
            "blocks": json.dumps([list(block) for block in self.blocks]),
            "skip_confidence": repr(self.skip_confidence),
        }

    @classmethod
    def from_file(cls, arrays: dict[str, np.ndarray], settings: dict[str, str], chain_model: ChainModel):
        blocks = [tuple(block) for block in json.loads(settings["blocks"])]
        if blocks != layer_blocks(chain_model.n_layers, blocks[0][1] - blocks[0][0]):
            raise ValueError(
                f"the router's blocks {blocks} do not tile this model's {chain_model.n_layers} layers"
            )
        width, hidden_size = arrays["mean"].shape[1], chain_model.config.hidden_size
        if width != hidden_size:
            raise ValueError(f"the router reads {width}-wide features; the model's are {hidden_size}")
        confidence = checked_skip_confidence(float(settings.get("skip_confidence", "0")))  # 0: none
        weights = {name: arrays[name] for name in ("mean", "scale", "w1", "b1", "w2", "b2")}
        return cls(blocks, **weights, skip_confidence=confidence)
