"""Tiny word-level tokenizers, built offline with `tokenizers`, for checkpoints and prompts."""

from __future__ import annotations

import re

from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

SPECIALS = ("<pad>", "<s>", "<unk>", "<|im_start|>", "<|im_end|>")
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _fast(vocab: dict[str, int]) -> PreTrainedTokenizerFast:
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="<|im_end|>",
        unk_token="<unk>",
    )
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>"]})
    tokenizer.chat_template = CHATML
    return tokenizer


def tiny_tokenizer(vocab_size: int = 96) -> PreTrainedTokenizerFast:
    vocab = {token: index for index, token in enumerate(SPECIALS)}
    for index in range(len(SPECIALS), vocab_size):
        vocab[f"w{index}"] = index
    return _fast(vocab)


def word_tokenizer(texts: list[str], vocab_size: int = 96) -> PreTrainedTokenizerFast:
    """A tokenizer whose vocabulary holds every word and punctuation run of ``texts``."""
    vocab = {token: index for index, token in enumerate(SPECIALS)}
    for text in texts:
        for piece in re.findall(r"\w+|[^\w\s]+", text):
            vocab.setdefault(piece, len(vocab))
    if len(vocab) > vocab_size:
        raise ValueError(f"fixture texts need {len(vocab)} tokens, more than vocab_size={vocab_size}")
    return _fast(vocab)


FIXTURE_ARC = "tests/fixtures/arc_mixed.jsonl"
FIXTURE_GSM8K = "tests/fixtures/gsm8k_small.jsonl"


def fixture_tokenizer() -> PreTrainedTokenizerFast:
    """A word tokenizer covering every prompt the fixture ARC and GSM8K rows can render."""
    from pathlib import Path

    from benchmarks.datasets import load_benchmark
    from benchmarks.prompts import DIRECT_INSTRUCTION, LETTER_INSTRUCTION, arc_letter_prompt

    root = Path(__file__).resolve().parents[1]
    arc = load_benchmark("arc_easy", split="test", path=str(root / FIXTURE_ARC))
    gsm = load_benchmark("gsm8k", split="test", path=str(root / FIXTURE_GSM8K))
    texts = [arc_letter_prompt(e) + " " + " ".join(c.text for c in e.choices) for e in arc]
    texts += [e.question + " " + e.solution for e in gsm]
    texts += [DIRECT_INSTRUCTION, LETTER_INSTRUCTION, "user assistant Answer"]
    return word_tokenizer(texts)
