"""Draft chains for self-speculative decoding, chosen on held-out prompts without decoding
speculatively: layers removed one by one in the order of how often skipping each alone keeps the
full chain's next token, each draft's acceptance and tokens per full pass at every k replayed from
one teacher-forced pass (benchmarks/learners/draft_choice.py). Time the promising ones with
scripts/studies/bench_speculative.py.

python scripts/studies/choose_draft.py [--model smollm2] [--prompts 20] [--split train]
    [--max-new-tokens 64] [--max-removed 12] [--k 1 2 3 4] [--threads 1] [--out drafts.md]
"""

from __future__ import annotations

from benchmarks.learners.draft_choice import full_continuation, pooled, removal_path
from benchmarks.runs.decode_prompts import (
    load_prompts,
    parse_prompt_arguments,
    print_table,
    prompt_parser,
)
from cola import format_chain


def choose(args) -> str:
    loaded, chain_model, queries = load_prompts(args)
    eos = {loaded.tokenizer.eos_token_id}  # where scripts/studies/bench_speculative.py stops decoding
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
    parser = prompt_parser(__doc__, prompts=20)
    parser.add_argument("--max-removed", type=int, default=12, help="layers removed at most")
    parser.add_argument("--k", nargs="+", type=int, default=[1, 2, 3, 4], help="tokens drafted per round")
    args = parse_prompt_arguments(parser)
    if min(args.k) < 1 or args.max_removed < 0:
        parser.error("--k must be at least 1, --max-removed at least 0")
    print_table(choose, args)


if __name__ == "__main__":
    main()
