"""The GSM8K prompts the decoding benches and the draft chooser read, and their shared options:
direct mode, the model's chat template where it has one, the first ``--prompts`` of a split."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import torch

from benchmarks.tasks import TaskConfig, build_queries, load_examples
from cola import ChainModel, LoadedModel, load_model


def prompt_parser(description: str, prompts: int) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--prompts", type=int, default=prompts)
    parser.add_argument("--split", default="train", help="GSM8K split the prompts come from (train or test)")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this file")
    return parser


def parse_prompt_arguments(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parsed options, the shared ones checked before any model is loaded."""
    args = parser.parse_args()
    if args.prompts < 1 or args.max_new_tokens < 1:
        parser.error("--prompts must be at least 1, and --max-new-tokens too")
    return args


def load_prompts(args: argparse.Namespace) -> tuple[LoadedModel, ChainModel, list]:
    """The model (with ``args.threads`` torch threads) and its first ``args.prompts`` GSM8K queries."""
    torch.set_num_threads(args.threads)
    loaded = load_model(args.model)
    task = TaskConfig("gsm8k", split=args.split, mode="direct", chat=None, max_new_tokens=args.max_new_tokens)
    queries = build_queries(load_examples(task, limit=args.prompts), loaded.tokenizer, task)
    return loaded, ChainModel(loaded.model), queries


def print_table(make_table: Callable[[argparse.Namespace], str], args: argparse.Namespace) -> None:
    table = make_table(args)
    print(table, end="")
    if args.out is not None:
        args.out.write_text(table)
