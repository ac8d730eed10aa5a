"""Draft chains for self-speculative decoding, chosen on held-out prompts without decoding
speculatively: layers removed one by one in the order of how often skipping each alone keeps the
full chain's next token, each draft's acceptance and tokens per full pass at every k replayed from
one teacher-forced pass (benchmarks/experiments/draft_choice.py). Time the promising ones with
scripts/bench_speculative.py.

python scripts/choose_draft.py [--model smollm2] [--prompts 20] [--split train]
    [--max-new-tokens 64] [--max-removed 12] [--k 1 2 3 4] [--threads 1] [--out drafts.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from benchmarks.experiments.draft_choice import full_continuation, pooled, removal_path
from benchmarks.tasks import TaskConfig, build_queries, load_examples
from cola import ChainModel, format_chain, load_model


def choose(args) -> str:
    torch.set_num_threads(args.threads)
    loaded = load_model(args.model)
    chain_model = ChainModel(loaded.model)
    task = TaskConfig("gsm8k", split=args.split, mode="direct", chat=None, max_new_tokens=args.max_new_tokens)
    queries = build_queries(load_examples(task, limit=args.prompts), loaded.tokenizer, task)
    eos = {loaded.tokenizer.eos_token_id}  # where scripts/bench_speculative.py stops decoding
    continuations = [
        full_continuation(chain_model, q.input_ids[:1], args.max_new_tokens, eos, extra=max(args.k))
        for q in queries
    ]
    path = removal_path(chain_model, continuations, args.max_removed)
    stops = [c.stop for c in continuations]
    header = " | ".join(f"k={k}: acceptance, tokens/pass" for k in args.k)
    lines = [
        f"{loaded.name}, {len(queries)} GSM8K {args.split} prompts (direct), {sum(stops)} greedy tokens "
        f"(up to {args.max_new_tokens} each). Keep rate: the share of positions where the draft's next "
        "token after the full chain's own prefix is the full chain's.",
        "",
        f"| skipped | layers | keep rate alone | keep rate | {header} | draft chain |",
        "|---|---|---|---|" + "---|" * len(args.k) + "---|",
    ]
    for step in path:
        cells = []
        for k in args.k:
            rounds = pooled(step["agreements"], stops, k)
            cells.append(f"{rounds.acceptance:.3f}, {rounds.tokens_per_full_pass:.2f}")
        alone = "–" if step["single_keep_rate"] is None else f"{step['single_keep_rate']:.3f}"
        lines.append(
            f"| {'–' if step['skipped'] is None else step['skipped']} | {len(step['chain'])} | {alone} | "
            f"{step['keep_rate']:.3f} | {' | '.join(cells)} | `{format_chain(step['chain'])}` |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--prompts", type=int, default=20)
    parser.add_argument("--split", default="train", help="GSM8K split the prompts come from")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--max-removed", type=int, default=12, help="layers removed at most")
    parser.add_argument("--k", nargs="+", type=int, default=[1, 2, 3, 4], help="tokens drafted per round")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if min(args.k) < 1 or args.prompts < 1 or args.max_removed < 0:
        parser.error("--k and --prompts must be at least 1, --max-removed at least 0")
    table = choose(args)
    print(table, end="")
    if args.out is not None:
        args.out.write_text(table)


if __name__ == "__main__":
    main()
