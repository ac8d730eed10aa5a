"""Write a static chain over a GGUF model as a GGUF that llama.cpp loads (``cola-export-gguf``;
``scripts/export_gguf.py``).

    python scripts/export_gguf.py --model smollm2 --chain 0-9,9,10-29 --out smollm2-chain.gguf
    python scripts/export_gguf.py --model smollm2 --policy outputs/prune/smollm2-bi4.safetensors --out x.gguf
    python scripts/export_gguf.py --model gemma3_270m --chains chains.json --id Mercury_7081673 --out y.gguf

``--model`` is an embedded model (smollm2, gemma3_270m) or a path to a .gguf file. A policy or a
chain file is checked against the model's weights (loaded for the check); a chain text is checked
against the file's block count alone. Tensors are copied without re-quantization, so the file
grows by the bytes of each repeated layer and shrinks by those of each skipped one.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.runs.session import check_chain_argument, open_model
from cola import parse_chain
from cola.chainfile import load_chain_file, weights_fingerprint
from cola.gguf_export import block_count, export_gguf, open_gguf
from cola.loading import EMBEDDED, embedded_gguf_path
from cola.policy import StaticChain, load_policy


def source_gguf(model: str) -> Path:
    if model in EMBEDDED:
        return embedded_gguf_path(EMBEDDED[model])
    path = Path(model)
    if path.suffix != ".gguf":
        raise ValueError(
            f"--model must be an embedded model ({', '.join(EMBEDDED)}) or a .gguf file, not {model!r}"
        )
    return path


def chosen_chain(args: argparse.Namespace, source: Path) -> tuple[int, ...]:
    """The chain from text (checked against the file), or from a policy or chain file (checked
    against the model's weights)."""
    if args.chain is not None:
        return parse_chain(args.chain, block_count(open_gguf(source)))
    loaded, chain_model = open_model(spec=args.model)
    fingerprint = weights_fingerprint(loaded.model)
    if args.policy is not None:
        policy = load_policy(args.policy, chain_model, fingerprint=fingerprint)
        if not isinstance(policy, StaticChain):
            raise ValueError(
                f"{args.policy} is a {policy.kind} policy: only a static chain is one chain to export"
            )
        return policy.chain
    chain_file = load_chain_file(args.chains, model=loaded.model)
    if args.id is not None:
        return chain_file.chain_for(args.id)
    if chain_file.static_chain is None:
        raise ValueError(f"{args.chains} holds no static chain: name a question's chain with --id")
    return chain_file.static_chain


def parser() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    options.add_argument("--model", default="smollm2", help="embedded model or .gguf file (default: smollm2)")
    given = options.add_mutually_exclusive_group(required=True)
    given.add_argument("--chain", type=str, help="the chain as text, e.g. 0-9,9,10-29")
    given.add_argument(
        "--policy", type=Path, help="a static-chain policy file (scripts/prune.py, learn_static_chain.py)"
    )
    given.add_argument(
        "--chains", type=Path, help="a chain file (scripts/export_chains.py): its static chain, or --id's"
    )
    options.add_argument("--id", default=None, help="with --chains: the question whose chain to export")
    options.add_argument("--out", type=Path, required=True, help="the GGUF file to write")
    return options


def run() -> None:
    """The console command (``cola-export-gguf``) and the script's entry."""
    args = parser().parse_args()
    try:
        if args.chain is not None:
            check_chain_argument(args.chain)
        source = source_gguf(args.model)
        summary = export_gguf(source, chosen_chain(args, source), args.out)
    except (FileNotFoundError, ValueError, KeyError) as error:
        raise SystemExit(f"error: {error.args[0] if isinstance(error, KeyError) else error}") from None
    print(json.dumps(summary, indent=2))
    grown = summary["out_bytes"] - summary["source_bytes"]
    print(
        f"{args.out}: {summary['out_bytes']:,} bytes ({grown:+,} against the source: layers repeated or skipped)"
    )
