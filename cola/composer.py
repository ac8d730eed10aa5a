"""The layer composer: a pretrained HF causal LM's forward pass rebuilt for any chain of layers.

The composer embeds, runs the decoder layers in chain order and applies the final norm and head,
exactly as the model's own forward does, but it owns what the model's forward would derive from
its fixed layer list: positions, per-kind attention masks, rotary tables and the KV cache (see
:mod:`cola.cache`). Pretrained modules and their config are never modified.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch

from cola.cache import ChainCache
from cola.chain import Chain, validate_chain
from cola.families import SLIDING_ATTENTION, cache_keyword, family_for, layer_types
from cola.generation import greedy_generate

SUPPORTED_ATTENTION = ("eager", "sdpa")


@dataclass(frozen=True)
class StepInputs:
    """Everything a decoder layer needs besides hidden states, shared by all steps of one call."""

    position_ids: torch.Tensor  # (B, T)
    masks: dict[str, torch.Tensor]  # layer type -> additive mask (B, 1, T, past + T)
    rotary: dict[str, tuple[torch.Tensor, torch.Tensor]]  # layer type -> (cos, sin)


def positions_from_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions of left-padded rows, as transformers' ``generate`` computes them."""
    positions = attention_mask.long().cumsum(-1) - 1
    return positions.masked_fill(attention_mask == 0, 1)


def additive_mask(
    attention_mask: torch.Tensor, query_length: int, *, window: int | None, dtype: torch.dtype
) -> torch.Tensor:
    """Causal (optionally sliding-window) mask over cache indices, 0 = attend, dtype min = block.

    ``attention_mask`` (B, K) covers past and new tokens; queries are the last ``query_length``.
    The window follows transformers' ``sliding_window_overlay``: key j is visible from query i
    when ``i - window < j <= i``.
    """
    kv_length = attention_mask.shape[-1]
    kv_idx = torch.arange(kv_length, device=attention_mask.device)
    q_idx = kv_idx[kv_length - query_length :, None]
    allowed = kv_idx[None, :] <= q_idx
    if window is not None:
        allowed = allowed & (kv_idx[None, :] > q_idx - window)
    return additive(allowed[None, None] & attention_mask.bool()[:, None, None, :], dtype)


def additive(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A boolean "may attend" mask as the additive one attention takes: 0 = attend, dtype min = block."""
    mask = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device)
    return mask.masked_fill_(~allowed, torch.finfo(dtype).min)


class ChainModel:
    """Runs a wrapped ``*ForCausalLM`` under arbitrary chains of its decoder layers."""

    def __init__(self, model: torch.nn.Module):
        config = model.config
        self.family = family_for(config)
        attention = getattr(config, "_attn_implementation", None)
        if attention not in SUPPORTED_ATTENTION:
            raise ValueError(
                f"attention implementation {attention!r} is not supported; load the model with "
                f"attn_implementation in {SUPPORTED_ATTENTION}"
            )
        self.model = model
        self.config = config
        self.decoder = model.model
        self.layers = self.decoder.layers
        self.n_layers: int = config.num_hidden_layers
        self.layer_types = layer_types(config)
        self.sliding_window: int | None = getattr(config, "sliding_window", None)
        self.cache_keyword = cache_keyword(type(self.layers[0]))

    @property
    def device(self) -> torch.device:
        return self.decoder.embed_tokens.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.decoder.embed_tokens.weight.dtype

    def check_chain(self, chain: Iterable[int]) -> Chain:
        return validate_chain(chain, self.n_layers)

    def new_cache(self, chain: Iterable[int]) -> ChainCache:
        """An empty KV cache with one slot per step, typed like the layer run at that step."""
        chain = self.check_chain(chain)
        return ChainCache(chain, tuple(self.layer_types[layer_idx] for layer_idx in chain))

    def kv_cache_bytes(self, steps: int, tokens: int) -> int:
        """An upper bound on a ``steps``-step :class:`ChainCache` holding ``tokens`` tokens."""
        heads = getattr(self.config, "num_key_value_heads", None) or self.config.num_attention_heads
        head_dim = (
            getattr(self.config, "head_dim", None)
            or self.config.hidden_size // self.config.num_attention_heads
        )
        per_token_step = 2 * heads * head_dim * self.dtype.itemsize  # keys and values
        return steps * per_token_step * ChainCache.capacity_for(tokens)

    # -- the pieces of a forward pass, public so that search can reuse prefix hidden states --

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.decoder.embed_tokens(input_ids)

    def step_inputs(
        self,
        hidden: torch.Tensor,
        *,
        attention_mask: torch.Tensor | None = None,
        past_length: int = 0,
        kinds: Iterable[str] | None = None,
    ) -> StepInputs:
        """Positions, masks and rotary tables for ``hidden`` (B, T, H) after ``past_length`` tokens."""
        batch, length = hidden.shape[:2]
        if attention_mask is None:
            attention_mask = torch.ones(batch, past_length + length, dtype=torch.long, device=hidden.device)
        elif attention_mask.shape != (batch, past_length + length):
            raise ValueError(
                f"attention_mask has shape {tuple(attention_mask.shape)}, expected "
                f"{(batch, past_length + length)} (past {past_length} + new {length} tokens)"
            )
        position_ids = positions_from_mask(attention_mask)[:, past_length:]
        kinds = set(self.layer_types if kinds is None else kinds)
        masks, rotary = {}, {}
        for kind in kinds:
            window = self.sliding_window if kind == SLIDING_ATTENTION else None
            masks[kind] = additive_mask(attention_mask, length, window=window, dtype=hidden.dtype)
            rotary[kind] = self._rotary(hidden, position_ids, kind)
        return StepInputs(position_ids=position_ids, masks=masks, rotary=rotary)

    def packed_inputs(
        self, hidden: torch.Tensor, position_ids: torch.Tensor, visible: torch.Tensor
    ) -> StepInputs:
        """Inputs for several sequences packed into one row, e.g. a shared context and its branches.

        ``position_ids`` (B, T) are each token's position in its own sequence; ``visible`` (B, T, T)
        says which tokens each token attends to. Sliding-window layers also drop keys a window or
        more positions back, as :func:`additive_mask` does for plain sequences.
        """
        if visible.shape != (*position_ids.shape, position_ids.shape[-1]):
            raise ValueError(
                f"visible has shape {tuple(visible.shape)}; expected {(*position_ids.shape, position_ids.shape[-1])}"
            )
        masks, rotary = {}, {}
        for kind in set(self.layer_types):
            allowed = visible
            if kind == SLIDING_ATTENTION and self.sliding_window is not None:
                distance = position_ids[:, :, None] - position_ids[:, None, :]
                allowed = allowed & (distance < self.sliding_window)
            masks[kind] = additive(allowed[:, None], hidden.dtype)
            rotary[kind] = self._rotary(hidden, position_ids, kind)
        return StepInputs(position_ids=position_ids, masks=masks, rotary=rotary)

    def _rotary(self, hidden: torch.Tensor, position_ids: torch.Tensor, kind: str):
        if self.family.rotary_per_layer_type:
            return self.decoder.rotary_emb(hidden, position_ids, kind)
        return self.decoder.rotary_emb(hidden, position_ids)

    def run_layer(
        self, hidden: torch.Tensor, layer_idx: int, inputs: StepInputs, *, cache: ChainCache | None, step: int
    ) -> torch.Tensor:
        return self.apply_layer(hidden, layer_idx, inputs, cache.slot(step) if cache is not None else None)

    def apply_layer(self, hidden: torch.Tensor, layer_idx: int, inputs: StepInputs, cache_view=None):
        """One decoder layer; ``cache_view`` is anything with a transformers-style ``update``
        (a :class:`cola.cache.StepView`), passed under the keyword the installed layer takes."""
        kind = self.layer_types[layer_idx]
        return self.layers[layer_idx](
            hidden,
            attention_mask=inputs.masks[kind],
            position_embeddings=inputs.rotary[kind],
            position_ids=inputs.position_ids,
            **{self.cache_keyword: cache_view},
        )

    def run_steps(
        self,
        hidden: torch.Tensor,
        chain: Chain,
        inputs: StepInputs,
        *,
        cache: ChainCache | None = None,
        start_step: int = 0,
    ) -> torch.Tensor:
        """Run ``chain`` (steps ``start_step``, ``start_step + 1``, ... of the cache) on ``hidden``."""
        for offset, layer_idx in enumerate(chain):
            hidden = self.run_layer(hidden, layer_idx, inputs, cache=cache, step=start_step + offset)
        return hidden

    def head(self, hidden: torch.Tensor, *, logits_to_keep: int = 0) -> torch.Tensor:
        """Final norm and LM head on the last ``logits_to_keep`` positions (0 = all)."""
        if logits_to_keep:
            hidden = hidden[:, -logits_to_keep:]
        logits = self.model.lm_head(self.decoder.norm(hidden))
        if self.family.final_logit_softcapping and self.config.final_logit_softcapping is not None:
            cap = self.config.final_logit_softcapping
            logits = torch.tanh(logits / cap) * cap
        return logits

    # -- the public forward and generation --

    def forward(
        self,
        input_ids: torch.Tensor,
        chain: Iterable[int],
        *,
        attention_mask: torch.Tensor | None = None,
        cache: ChainCache | None = None,
        logits_to_keep: int = 0,
    ) -> torch.Tensor:
        """Logits (B, T, V) of ``input_ids`` under ``chain``.

        With ``cache``, ``input_ids`` are the new tokens and ``attention_mask`` (if given) covers
        past and new tokens, as in transformers. The cache must have been made for this chain.
        """
        chain = self.check_chain(chain)
        if input_ids.ndim != 2 or input_ids.shape[1] == 0:
            raise ValueError(
                f"input_ids must be (batch, tokens) with at least one token, got {tuple(input_ids.shape)}"
            )
        past_length = 0
        if cache is not None:
            if cache.chain != chain:
                raise ValueError("cache was made for a different chain; call new_cache(chain)")
            past_length = cache.seen_tokens
        hidden = self.embed(input_ids)
        kinds = {self.layer_types[layer_idx] for layer_idx in chain}
        inputs = self.step_inputs(hidden, attention_mask=attention_mask, past_length=past_length, kinds=kinds)
        hidden = self.run_steps(hidden, chain, inputs, cache=cache)
        if cache is not None:
            cache.seen_tokens += input_ids.shape[1]
        return self.head(hidden, logits_to_keep=logits_to_keep)

    __call__ = forward

    def generate(self, input_ids: torch.Tensor, chain: Iterable[int], **options) -> torch.Tensor:
        """Greedy decoding under ``chain``: prompt plus new tokens, (B, T + n).

        ``options`` are those of :func:`cola.generation.greedy_generate`: ``max_new_tokens``
        (required), ``attention_mask``, ``eos_token_id``, ``pad_token_id``, ``stop_rule``, ``on_token``.
        """
        return greedy_generate(self, input_ids, self.check_chain(chain), **options)
