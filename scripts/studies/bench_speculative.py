"""Self-speculative decoding against plain greedy decoding at batch 1 (Spec-Bench's protocol);
print a table.

python scripts/studies/bench_speculative.py --drafts 0-9,12-29 0-7,9-14,17-29 --k 2 4 [--prompts 10]
    [--split train] [--max-new-tokens 64] [--model smollm2] [--threads 1] [--out speculative.md]

Prompts are GSM8K questions (direct mode, the model's chat template where it has one). Every
prompt is decoded by plain greedy decoding and by each (draft, k), interleaved in one process so
load drifts hit every row alike; every speculative output is checked against the greedy one. The
LM head's share of a one-token full-chain step is measured beside: skipped layers cannot save it.
The table ends with its figures as a ``json`` block.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
import torch

from benchmarks.runs.decode_prompts import (
    load_prompts,
    parse_prompt_arguments,
    print_table,
    prompt_parser,
)
from cola import ChainModel, parse_chain
from cola.speculative import speculative_generate


def greedy_tokens(chain_model: ChainModel, ids: torch.Tensor, max_new_tokens: int, eos: int) -> list[int]:
    output = chain_model.generate(
        ids, range(chain_model.n_layers), max_new_tokens=max_new_tokens, eos_token_id=eos
    )
    new = output[0, ids.shape[1] :].tolist()
    return new[: new.index(eos) + 1] if eos in new else new


@torch.inference_mode()
def head_share(chain_model: ChainModel, ids: torch.Tensor, repeats: int = 20) -> float:
    """The LM head's share of a one-token step of the full chain after ``ids``."""
    full = tuple(range(chain_model.n_layers))
    cache = chain_model.new_cache(full)
    chain_model.forward(ids, full, cache=cache, logits_to_keep=1)
    step, head = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        chain_model.forward(ids[:, -1:], full, cache=cache, logits_to_keep=1)
        step.append(time.perf_counter() - start)
        cache.crop(cache.seen_tokens - 1)
        hidden = torch.randn(1, 1, chain_model.config.hidden_size)
        start = time.perf_counter()
        chain_model.head(hidden, logits_to_keep=1)
        head.append(time.perf_counter() - start)
    return float(np.median(head) / np.median(step))


def bench(args) -> str:
    load_before = os.getloadavg()[0]
    loaded, chain_model, queries = load_prompts(args)
    eos = loaded.tokenizer.eos_token_id
    drafts = [(text, parse_chain(text, chain_model.n_layers)) for text in args.drafts]
    rows = {
        (text, k): {
            "seconds": 0.0,
            "tokens": 0,
            "rounds": 0,
            "drafted": 0,
            "accepted": 0,
            "draft_s": 0.0,
            "same": 0,
        }
        for text, _ in drafts
        for k in args.k
    }
    greedy_seconds = greedy_count = 0
    for query in queries:
        ids = query.input_ids[:1]
        start = time.perf_counter()
        expected = greedy_tokens(chain_model, ids, args.max_new_tokens, eos)
        greedy_seconds, greedy_count = (
            greedy_seconds + time.perf_counter() - start,
            greedy_count + len(expected),
        )
        for text, draft in drafts:
            for k in args.k:
                start = time.perf_counter()
                tokens, stats = speculative_generate(
                    chain_model, ids, draft, k=k, max_new_tokens=args.max_new_tokens, eos_token_id=eos
                )
                row = rows[(text, k)]
                row["seconds"] += time.perf_counter() - start
                row["tokens"] += len(tokens)
                row["rounds"] += stats.rounds + 1
                row["drafted"] += stats.drafted
                row["accepted"] += stats.accepted
                row["draft_s"] += stats.draft_seconds
                row["same"] += tokens == expected
    greedy_rate = greedy_count / greedy_seconds
    share = head_share(chain_model, queries[0].input_ids[:1])
    load_after = os.getloadavg()[0]
    lines = [
        f"{loaded.name}, {len(queries)} GSM8K {args.split} prompts (direct), up to {args.max_new_tokens} new tokens, "
        f"{args.threads} thread(s), 1-minute load {load_before:.2f} before / {load_after:.2f} after; "
        f"LM head share of a one-token full step: {share:.2f}",
        "",
        f"Plain greedy decoding: {greedy_rate:.1f} tokens/s ({greedy_count} tokens).",
        "",
        "| draft chain | layers | k | same output | acceptance | tokens per full pass | draft share of time | tokens/s | × greedy |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    figures = []
    for (text, k), row in rows.items():
        rate = row["tokens"] / row["seconds"]
        figures.append(
            {
                "draft": text,
                "layers": len(parse_chain(text, chain_model.n_layers)),
                "k": k,
                "same_output": row["same"],
                "acceptance": row["accepted"] / max(row["drafted"], 1),
                "tokens_per_full_pass": row["tokens"] / row["rounds"],
                "draft_share": row["draft_s"] / row["seconds"],
                "tokens_per_s": rate,
                "vs_greedy": rate / greedy_rate,
            }
        )
        lines.append(
            f"| `{text}` | {figures[-1]['layers']} | {k} | {row['same']}/{len(queries)} | "
            f"{figures[-1]['acceptance']:.3f} | {figures[-1]['tokens_per_full_pass']:.2f} | "
            f"{figures[-1]['draft_share']:.2f} | {rate:.1f} | {rate / greedy_rate:.2f} |"
        )
    statistics = {
        "model": loaded.name,
        "prompts": len(queries),
        "split": args.split,
        "max_new_tokens": args.max_new_tokens,
        "threads": args.threads,
        "load_1m": [load_before, load_after],
        "head_share": share,
        "greedy": {"tokens": greedy_count, "tokens_per_s": greedy_rate},
        "drafts": figures,
    }
    # the figures again as the last json block, which the README's table is rendered from
    return "\n".join(lines) + "\n\n```json\n" + json.dumps(statistics, indent=2) + "\n```\n"


def main() -> None:
    parser = prompt_parser(__doc__, prompts=10)
    parser.add_argument("--drafts", nargs="+", required=True, help="draft chains, e.g. 0-9,12-29")
    parser.add_argument("--k", nargs="+", type=int, default=[2, 4], help="tokens drafted per round")
    print_table(bench, parse_prompt_arguments(parser))


if __name__ == "__main__":
    main()
