"""Write a chain as a standalone Hugging Face checkpoint (safetensors + config + tokenizer).

    python scripts/materialize.py --model smollm2 --chain 0-9,9,10-29 --out checkpoints/smollm2-0-9,9,10-29
    python scripts/materialize.py --chain-file chains.json --static --out checkpoints/static

The result loads with plain transformers.AutoModelForCausalLM.from_pretrained(out).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cola import format_chain, load_model, parse_chain
from cola.chainfile import load_chain_file
from cola.materialize import save_materialized


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--chain", help="chain text, e.g. 0-9,9,10-29")
    parser.add_argument("--chain-file", type=Path)
    parser.add_argument("--sample", help="take this sample's chain from --chain-file")
    parser.add_argument("--static", action="store_true", help="take the static chain from --chain-file")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    loaded = load_model(args.model)
    if args.chain:
        chain = parse_chain(args.chain, loaded.n_layers)
    elif args.chain_file and (args.static or args.sample):
        chains = load_chain_file(args.chain_file, model=loaded.model)
        chain = chains.static_chain if args.static else chains.chain_for(args.sample)
        if chain is None:
            raise SystemExit(f"{args.chain_file} has no static chain")
    else:
        raise SystemExit("give --chain, or --chain-file with --static or --sample")
    start = time.perf_counter()
    save_materialized(loaded.model, loaded.tokenizer, chain, args.out)
    size = sum(path.stat().st_size for path in args.out.iterdir()) / 2**20
    print(
        f"chain {format_chain(chain)} ({len(chain)} layers) -> {args.out} ({size:.0f} MiB, {time.perf_counter() - start:.1f} s)"
    )


def run() -> None:
    """The console command (``cola-materialize``) and the script's entry."""
    main()
