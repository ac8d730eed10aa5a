"""Record every exit's choice scores for the questions of one split (resumable, shardable).

    python scripts/studies/record_exits.py --model smollm2 --benchmark arc_easy --split validation \
        --out outputs/exits/smollm2/arc_easy-validation [--exits 0-30] [--shard 0/2] [--limit 100] \
        [--exits-only]

Exit 0 is the embedding output, exit k the hidden state after layer k of the full chain (the final
norm and LM head applied), exit n_layers the model's own scores. A killed run resumes; shards
(``--shard i/n``) take every n-th question and merge by concatenating their results.jsonl.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.runs.exit_run import ExitRun, run_exits
from benchmarks.runs.session import exit_on_user_error, open_model, set_threads, shard_argument
from benchmarks.tasks import TaskConfig
from cola import parse_chain
from cola.chainfile import weights_fingerprint


def parser() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    options.add_argument("--model", default="smollm2", help="model spec (default: smollm2)")
    options.add_argument("--benchmark", default="arc_easy", choices=["arc_easy", "arc_challenge"])
    options.add_argument("--split", default="validation", choices=["train", "validation", "test"])
    options.add_argument("--out", type=Path, required=True, help="the run directory")
    options.add_argument("--exits", default=None, help="exits as chain text, e.g. 0-30 or 0,10,20,30 (all)")
    options.add_argument("--shard", type=shard_argument, default=(0, 1), help="INDEX/COUNT (default 0/1)")
    options.add_argument(
        "--exits-only",
        action="store_true",
        help="no DoLa or neutral-premise scores (what training records need: the calibration reads exits)",
    )
    options.add_argument("--limit", type=int, default=None, help="the first N questions of the split")
    options.add_argument("--threads", type=int, default=1)
    options.add_argument("--progress", action="store_true")
    return options


@exit_on_user_error
def main(args: argparse.Namespace) -> None:
    set_threads(args.threads)
    task = TaskConfig(benchmark=args.benchmark, split=args.split, mode="loglikelihood")
    loaded, chain_model = open_model(spec=args.model)
    # exits as chain text: 0 is a valid layer index, n_layers is checked by the run (exit = steps run)
    exits = None if args.exits is None else tuple(parse_chain(args.exits, loaded.n_layers + 1))
    run = ExitRun(
        model=loaded.name,
        exits=exits,
        dola=not args.exits_only,
        neutral=not args.exits_only,
        limit=args.limit,
        shard_index=args.shard[0],
        shard_count=args.shard[1],
        model_fingerprint=weights_fingerprint(loaded.model),
    )
    records = run_exits(chain_model, loaded.tokenizer, task, run, args.out, progress=args.progress)
    print(f"{len(records)} questions with {len(records[0]['exits']) if records else 0} exits -> {args.out}")


if __name__ == "__main__":
    main(parser().parse_args())
