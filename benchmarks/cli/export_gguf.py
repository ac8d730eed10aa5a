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
import functools
import json
from pathlib import Path

from benchmarks.cli.chain_choice import add_chain_choice, chosen_chain
from cola.gguf_export import block_count, check_gguf, export_gguf, open_gguf
from cola.loading import EMBEDDED, embedded_gguf_path


def source_gguf(model: str) -> Path:
    if model in EMBEDDED:
        return embedded_gguf_path(EMBEDDED[model])
    path = Path(model)
    if path.suffix != ".gguf":
        raise ValueError(
            f"--model must be an embedded model ({', '.join(EMBEDDED)}) or a .gguf file, not {model!r}"
        )
    return path


def parser() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    options.add_argument("--model", default="smollm2", help="embedded model or .gguf file (default: smollm2)")
    add_chain_choice(options)
    options.add_argument("--out", type=Path, required=True, help="the GGUF file to write")
    return options


def run() -> None:
    """The console command (``cola-export-gguf``) and the script's entry."""
    args = parser().parse_args()
    try:
        source = check_gguf(source_gguf(args.model))  # refused before a policy's model loads
        read_source = functools.cache(lambda: open_gguf(source))  # its metadata parsed once
        chain = chosen_chain(args, args.model, lambda: block_count(read_source()))
        summary = export_gguf(source, chain, args.out, reader=read_source())
    except (FileNotFoundError, ValueError, KeyError) as error:
        raise SystemExit(f"error: {error.args[0] if isinstance(error, KeyError) else error}") from None
    print(json.dumps(summary, indent=2))
    grown = summary["out_bytes"] - summary["source_bytes"]
    print(
        f"{args.out}: {summary['out_bytes']:,} bytes ({grown:+,} against the source: layers repeated or skipped)"
    )
