"""Which layers to drop: a pruning rule's choice, saved as a static-chain policy file.

    python scripts/prune.py --rule block_influence --remove 4 --out outputs/prune/smollm2-bi4.safetensors
    python scripts/prune.py --rule keep_rate --remove 2 --prior docs/results/faithful/smollm2/static_keep_rate/path.json --out ...

Rules: block_influence (ShortGPT), angular (Gromov et al.: a block of consecutive layers), reverse
(the last layers), reverse_keep_final (the layers before the last), keep_rate (a validation scan's
single-skip keep rates). The text rules read the contexts of unlabelled ARC training questions
(--texts of them). Check any choice against random removals of the same size and form before
trusting it: the audit's pruning curves do (docs/results).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.learners.pruning import TEXT_RULES, measure_layers, removed_layers
from benchmarks.runs.session import exit_on_user_error, open_model, set_threads
from benchmarks.tasks import TaskConfig
from cola import format_chain
from cola.chainfile import weights_fingerprint
from cola.policy import StaticChain, save_policy
from search.pruning import RULES, pruned_chain


def parser() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    options.add_argument("--model", default="smollm2", help="model spec (default: smollm2)")
    options.add_argument("--rule", required=True, choices=RULES)
    options.add_argument("--remove", type=int, required=True, help="how many layers to drop")
    options.add_argument("--out", type=Path, required=True, help="the static-chain policy file to write")
    options.add_argument(
        "--texts", type=int, default=200, help="unlabelled training questions read (default 200)"
    )
    options.add_argument("--benchmark", default="arc_easy", choices=["arc_easy", "arc_challenge"])
    options.add_argument(
        "--prior",
        default=None,
        help="keep_rate's single-skip keep rates: an edit prior with keep rates or a static race's path.json",
    )
    options.add_argument("--threads", type=int, default=1)
    return options


@exit_on_user_error
def main(args: argparse.Namespace) -> None:
    if args.rule == "keep_rate" and args.prior is None:
        raise ValueError(
            "--rule keep_rate reads single-skip keep rates: give --prior (an edit prior or a static race's path.json)"
        )
    set_threads(args.threads)
    loaded, chain_model = open_model(spec=args.model)
    stats = None
    if args.rule in TEXT_RULES:
        task = TaskConfig(benchmark=args.benchmark, mode="loglikelihood")
        stats = measure_layers(chain_model, loaded.tokenizer, task, [args.remove], texts=args.texts)
    removed = removed_layers(args.rule, args.remove, loaded.n_layers, stats=stats, prior_file=args.prior)
    chain = pruned_chain(removed, loaded.n_layers)
    trained = "unlabelled" if args.rule != "keep_rate" else "validation keep rates"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_policy(
        StaticChain(chain),
        args.out,
        fingerprint=weights_fingerprint(loaded.model),
        n_layers=loaded.n_layers,
        trained_toward=trained,
    )
    print(
        f"{args.rule}: remove {removed} -> chain {format_chain(chain)} ({len(chain)} of {loaded.n_layers}) -> {args.out}"
    )


if __name__ == "__main__":
    main(parser().parse_args())
