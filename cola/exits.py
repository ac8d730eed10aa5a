"""Every step's exit in one pass: the final norm and LM head applied to the hidden state after each
step of a chain, as if the chain had stopped there.

Exit ``k`` is the hidden state after the chain's first ``k`` steps (exit 0: the embedding output,
before any layer), so its logits are exactly those of the truncated chain ``chain[:k]``: the model
is causal, and a step reads only the steps before it. One pass runs every layer once and applies
the head once per exit kept, on the positions asked for only; a truncated chain per exit would run
the first layers again for every exit. Layer-exit methods (DoLa, exit ensembles, exit calibration)
all read these.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from cola.cache import ChainCache
from cola.chain import Chain
from cola.composer import ChainModel, StepInputs


def check_exits(exits: Iterable[int] | None, n_steps: int) -> list[int]:
    """Sorted distinct exits, each in 0..n_steps (None: all of them); refused out of range."""
    if exits is None:
        return list(range(n_steps + 1))
    wanted = sorted(set(exits))
    if not wanted:
        raise ValueError("no exit asked for: give at least one of 0..n_steps, or None for all")
    bad = [k for k in wanted if not 0 <= k <= n_steps]
    if bad:
        raise ValueError(f"exits {bad} out of range: a {n_steps}-step chain has exits 0..{n_steps}")
    return wanted


def run_with_exits(
    chain_model: ChainModel,
    hidden: torch.Tensor,
    chain: Chain,
    inputs: StepInputs,
    exits: Iterable[int] | None = None,
    *,
    keep=None,
    cache: ChainCache | None = None,
) -> dict[int, torch.Tensor]:
    """Run ``chain`` on embedded ``hidden`` (B, T, H) and return the hidden state at each exit,
    ``keep``-indexed (e.g. ``(slice(None), positions)``) so only the positions scored are held.
    Layers past the last exit asked for are not run, unless a ``cache`` (made for ``chain``) is
    filled: then every step runs."""
    wanted = check_exits(exits, len(chain))
    keep = keep if keep is not None else (slice(None),)
    found = {0: hidden[keep]} if 0 in wanted else {}
    last = len(chain) if cache is not None else wanted[-1]
    for step, layer_idx in enumerate(chain[:last], start=1):
        hidden = chain_model.run_layer(hidden, layer_idx, inputs, cache=cache, step=step - 1)
        if step in wanted:
            found[step] = hidden[keep]
    return found


def exit_logits(
    chain_model: ChainModel,
    input_ids: torch.Tensor,
    chain: Iterable[int],
    *,
    exits: Iterable[int] | None = None,
    positions: torch.Tensor | None = None,
    attention_mask: torch.Tensor | None = None,
) -> dict[int, torch.Tensor]:
    """Logits at each exit of ``chain`` for ``input_ids`` (B, T): exit -> (B, P, V) at ``positions``
    (all T when None), equal to ``chain_model(input_ids, chain[:exit])`` there."""
    chain = chain_model.check_chain(chain)
    hidden = chain_model.embed(input_ids)
    kinds = {chain_model.layer_types[layer_idx] for layer_idx in chain}
    inputs = chain_model.step_inputs(hidden, attention_mask=attention_mask, kinds=kinds or None)
    keep = (slice(None), positions if positions is not None else slice(None))
    found = run_with_exits(chain_model, hidden, chain, inputs, exits, keep=keep)
    return {k: chain_model.head(state) for k, state in found.items()}
