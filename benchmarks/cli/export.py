"""Write a chain file (JSON) from a scripts/run_search.py run, optionally with a static chain.

python scripts/export_chains.py outputs/search/<run> --out chains.json [--model smollm2]
    [--static outputs/static/<run>/path.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.runs.export import chain_file_from_run
from cola import load_model, parse_chain
from cola.chainfile import save_chain_file


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default="smollm2", help="model spec the run used (default: smollm2)")
    parser.add_argument(
        "--static",
        type=Path,
        default=None,
        help="path.json of scripts/learn_static_chain.py (its picked chain)",
    )
    args = parser.parse_args()
    loaded = load_model(args.model)
    static = None
    if args.static is not None:
        learned = json.loads(args.static.read_text())
        if "picked" not in learned and "chain" not in learned:
            raise SystemExit(f"{args.static} names no chain (no 'picked' or 'chain' entry)")
        static = parse_chain(learned.get("picked", learned.get("chain")), loaded.n_layers)
    chain_file = chain_file_from_run(args.run_dir, loaded, static_chain=static)
    save_chain_file(chain_file, args.out)
    print(f"{len(chain_file.chains)} chains for {chain_file.model_name} -> {args.out}")


def run() -> None:
    """The console command (``cola-export``) and the script's entry."""
    main()
