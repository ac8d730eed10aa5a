"""Text in, text out under a chain: chat rendering, encoding and (streamed) greedy generation.

The one place where a prompt meets a tokenizer's chat template: the benchmarks' prompts render
their turns with :func:`render_chat` and encode with :func:`encode`, as generation does.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TextIO

import torch

from cola.composer import ChainModel
from cola.dola import DolaPolicy, dola_generate


def uses_chat(tokenizer, chat: bool | None) -> bool:
    """``chat=None`` means: use the chat template when the tokenizer has one (instruct models)."""
    has_template = getattr(tokenizer, "chat_template", None) is not None
    if chat and not has_template:
        raise ValueError("chat=True but the tokenizer has no chat template")
    return has_template if chat is None else chat


def render_chat(tokenizer, turns: list[tuple[str, str]]) -> str:
    """``turns`` of (role, text), ending with a user turn; the assistant turn is left open."""
    if getattr(tokenizer, "chat_template", None) is None:
        raise ValueError("chat=True but the tokenizer has no chat template; set chat=false for base models")
    messages = [{"role": role, "content": text} for role, text in turns]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def format_prompt(tokenizer, prompt: str, *, chat: bool) -> str:
    return render_chat(tokenizer, [("user", prompt)]) if chat else prompt


def encode(tokenizer, text: str, *, chat: bool) -> list[int]:
    """Token ids of ``text``; a rendered chat template already holds its special tokens as text."""
    return tokenizer(text, add_special_tokens=not chat).input_ids


def prompt_ids(tokenizer, prompt: str, *, chat: bool | None = None) -> torch.Tensor:
    """The (1, T) token ids generation starts from (what a chain policy reads to choose)."""
    chat = uses_chat(tokenizer, chat)
    return torch.tensor([encode(tokenizer, format_prompt(tokenizer, prompt, chat=chat), chat=chat)])


class TextStreamer:
    """Writes decoded text as tokens arrive (batch of one), re-decoding to keep merges right."""

    def __init__(self, tokenizer, out: TextIO = sys.stdout):
        self.tokenizer = tokenizer
        self.out = out
        self.ids: list[int] = []
        self.printed = 0

    def __call__(self, next_ids: torch.Tensor) -> None:
        self.ids.append(int(next_ids[0]))
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        self.out.write(text[self.printed :])
        self.out.flush()
        self.printed = len(text)


@torch.inference_mode()
def generate_text(
    chain_model: ChainModel,
    tokenizer,
    prompt: str,
    chain: Iterable[int],
    *,
    max_new_tokens: int = 128,
    chat: bool | None = None,
    stream: TextIO | None = None,
    dola: DolaPolicy | None = None,
) -> str:
    """Greedy completion of ``prompt`` under ``chain`` (or DoLa decoding of the full chain, with a
    ``dola`` policy); streamed to ``stream`` when given."""
    ids = prompt_ids(tokenizer, prompt, chat=chat).to(chain_model.device)
    options = {
        "max_new_tokens": max_new_tokens,
        "eos_token_id": tokenizer.eos_token_id,
        "on_token": TextStreamer(tokenizer, stream) if stream is not None else None,
    }
    if dola is not None:
        output = dola_generate(chain_model, ids, dola, **options)
    else:
        output = chain_model.generate(ids, chain, **options)
    return tokenizer.decode(output[0, ids.shape[1] :], skip_special_tokens=True)
