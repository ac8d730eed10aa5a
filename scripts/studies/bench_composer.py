"""Time the composer against transformers' own forward on the embedded model; print a table.

python scripts/studies/bench_composer.py [--model smollm2] [--tokens 80] [--repeats 5] [--out composer.md]

Each time is the best of ``repeats`` runs, all measured side by side in one process.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from benchmarks.runs.session import emit_table
from cola import ChainModel, load_model


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


@torch.inference_mode()
def bench(model_spec: str, tokens: int, repeats: int) -> str:
    load_before = os.getloadavg()[0]  # other work beside the bench slows every row alike
    start = time.perf_counter()
    loaded = load_model(model_spec)
    load_s = time.perf_counter() - start
    model, n_layers = loaded.model, loaded.n_layers
    chain_model = ChainModel(model)
    ids = torch.randint(100, 40000, (1, tokens), generator=torch.Generator().manual_seed(0))
    rows = [
        ("HF forward (all logits)", n_layers, best_of(lambda: model(ids), repeats)),
        (
            "cola identity chain (all logits)",
            n_layers,
            best_of(lambda: chain_model(ids, range(n_layers)), repeats),
        ),
        (
            "cola identity chain (last logit)",
            n_layers,
            best_of(lambda: chain_model(ids, range(n_layers), logits_to_keep=1), repeats),
        ),
        (
            "cola half chain 0-14 (last logit)",
            15,
            best_of(lambda: chain_model(ids, range(15), logits_to_keep=1), repeats),
        ),
    ]
    lines = [
        f"model {loaded.name}, {tokens} tokens, batch 1, {torch.get_num_threads()} threads, "
        f"best of {repeats}, model load {load_s:.1f} s, 1-minute machine load before {load_before:.2f}",
        "",
        "| run | layers | seconds | ms per layer |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {layers} | {seconds:.3f} | {1000 * seconds / layers:.1f} |"
        for name, layers, seconds in rows
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="smollm2", help="a cola.load_model spec (default: smollm2)")
    parser.add_argument("--tokens", type=int, default=80)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this file")
    args = parser.parse_args()
    table = bench(args.model, args.tokens, args.repeats)
    emit_table(table, args.out)


if __name__ == "__main__":
    main()
