"""Time the composer against transformers' own forward on the embedded model; print a table.

python scripts/bench_composer.py [tokens] [repeats]
"""

from __future__ import annotations

import sys
import time

import torch

from cola import ChainModel, load_model


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


@torch.inference_mode()
def main(tokens: int = 80, repeats: int = 5) -> None:
    torch.set_num_threads(torch.get_num_threads())
    start = time.perf_counter()
    loaded = load_model("smollm2")
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
    print(
        f"model {loaded.name}, {tokens} tokens, batch 1, {torch.get_num_threads()} threads, load {load_s:.1f} s"
    )
    print("| run | layers | seconds | ms per layer |")
    print("|---|---|---|---|")
    for name, layers, seconds in rows:
        print(f"| {name} | {layers} | {seconds:.3f} | {1000 * seconds / layers:.1f} |")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:]))
