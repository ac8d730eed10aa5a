"""Every exit in one pass against its arithmetic bound, side by side on the same questions.

    python scripts/studies/bench_exits.py --model smollm2 --questions 20 [--exits 0-30]

The bound is what the exits cannot do without: the full chain's layers once on the packed
question, plus the final norm and LM head on the scored positions once per exit, taken as one call
on every exit's rows (the cheapest way to do that arithmetic here). Each part is timed alone on the
same questions (best of ``--repeats``), then the exits pass as
``benchmarks.runs.exit_run.choice_exits`` runs it (heads in groups of eight exits); the table
prints seconds per question (median, p90) and the ratio of the pass to the bound.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from benchmarks.runs.exit_run import choice_exits
from benchmarks.runs.session import open_model, set_threads
from benchmarks.tasks import TaskConfig, build_query, load_examples
from cola import full_chain, parse_chain


def best_time(work, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def time_question(chain_model, query, exits: list[int] | None, count: int, repeats: int) -> dict[str, float]:
    packed = query.packed
    hidden = chain_model.embed(packed.input_ids)
    inputs = chain_model.packed_inputs(hidden, packed.position_ids, packed.visible)
    chain = full_chain(chain_model.n_layers)
    layers = best_time(lambda: chain_model.run_steps(hidden, chain, inputs), repeats)
    states = [hidden[0, packed.scored]] * count  # the head's work for every exit, in one call
    head = best_time(lambda: query.score_rows_many(states, chain_model.head), repeats)
    passed = best_time(lambda: choice_exits(chain_model, query, exits), repeats)
    return {
        "layers once": layers,
        "every exit's head, one call": head,
        "bound": layers + head,
        "exits pass": passed,
    }


@torch.inference_mode()
def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--exits", default=None, help="exits as chain text (default: all)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    set_threads(args.threads)
    loaded, chain_model = open_model(spec=args.model)
    exits = None if args.exits is None else sorted(set(parse_chain(args.exits, loaded.n_layers + 1)))
    count = loaded.n_layers + 1 if exits is None else len(exits)
    task = TaskConfig(benchmark="arc_easy", split="validation", mode="loglikelihood")
    rows: dict[str, list[float]] = {}
    for example in load_examples(task, limit=args.questions):
        query = build_query(example, loaded.tokenizer, task)
        for name, seconds in time_question(chain_model, query, exits, count, args.repeats).items():
            rows.setdefault(name, []).append(seconds)
    print(
        f"{loaded.name}, {args.questions} ARC-Easy validation questions, {count} exits, {args.threads} thread(s)\n"
    )
    print("| part | s / question (median, p90) |\n|---|---|")
    for name, values in rows.items():
        ordered = sorted(values)
        print(f"| {name} | {statistics.median(ordered):.4f}, {ordered[int(0.9 * (len(ordered) - 1))]:.4f} |")
    ratios = [passed / bound for passed, bound in zip(rows["exits pass"], rows["bound"], strict=True)]
    print(f"\nexits pass / bound: median {statistics.median(ratios):.2f}x (goal: within 1.2x)")


if __name__ == "__main__":
    main()
