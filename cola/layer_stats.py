"""How much each layer changes the hidden state, measured on unlabelled text: what layer-pruning
methods rank layers by.

Block Influence (ShortGPT, Men et al. 2024): 1 - cos(layer input, layer output), averaged over
every token. Angular distance (Gromov et al. 2024): arccos(cos(h_l, h_{l+n})) / pi between the
input of layer l and the output of layer l + n - 1, at each text's last token, for every block of n
consecutive layers. Both read the full chain's hidden states from one pass per text.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from cola.composer import ChainModel
from cola.exits import run_with_exits


def _cosine(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cosine_similarity(first.float(), second.float(), dim=-1)


class LayerStats:
    """Block Influence per layer and angular distance per block, accumulated over texts."""

    def __init__(self, n_layers: int, block_sizes: Iterable[int]):
        self.n_layers = n_layers
        self.block_sizes = sorted(set(block_sizes))
        bad = [n for n in self.block_sizes if not 1 <= n < n_layers]
        if bad:
            raise ValueError(
                f"block sizes {bad} out of range: a {n_layers}-layer model removes 1..{n_layers - 1}"
            )
        self.influence_sum = np.zeros(n_layers)
        self.tokens = 0
        self.angular_sum = {n: np.zeros(n_layers - n + 1) for n in self.block_sizes}
        self.texts = 0

    @torch.inference_mode()
    def add(self, chain_model: ChainModel, input_ids: torch.Tensor) -> None:
        """One text's (1, T) hidden states after every layer of the full chain."""
        if chain_model.n_layers != self.n_layers:
            raise ValueError(f"stats for {self.n_layers} layers, model has {chain_model.n_layers}")
        hidden = chain_model.embed(input_ids)
        inputs = chain_model.step_inputs(hidden)
        states = run_with_exits(chain_model, hidden, tuple(range(self.n_layers)), inputs, keep=(0,))
        for layer in range(self.n_layers):
            self.influence_sum[layer] += float((1 - _cosine(states[layer], states[layer + 1])).sum())
        self.tokens += input_ids.shape[1]
        for n, sums in self.angular_sum.items():
            for start in range(self.n_layers - n + 1):
                cosine = _cosine(states[start][-1], states[start + n][-1]).clamp(-1.0, 1.0)
                sums[start] += float(torch.arccos(cosine)) / np.pi
        self.texts += 1

    def block_influence(self) -> np.ndarray:
        """(n_layers,) mean 1 - cos(input, output) per layer over every token seen."""
        return self.influence_sum / max(self.tokens, 1)

    def angular_distance(self, n: int) -> np.ndarray:
        """(n_layers - n + 1,) mean angular distance of each block of ``n`` layers, by its first layer."""
        if n not in self.angular_sum:
            raise ValueError(f"no angular distances for blocks of {n}; measured: {self.block_sizes}")
        return self.angular_sum[n] / max(self.texts, 1)
