"""A tiny word-level tokenizer for checkpoint round trips, built offline with `tokenizers`."""

from __future__ import annotations

from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast


def tiny_tokenizer(vocab_size: int = 96) -> PreTrainedTokenizerFast:
    vocab = {"<pad>": 0, "<s>": 1, "<unk>": 2}
    for index in range(3, vocab_size - 1):
        vocab[f"w{index}"] = index
    vocab["</s>"] = vocab_size - 1
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )
