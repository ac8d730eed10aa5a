"""Write a static chain as a mergekit passthrough recipe over a local checkpoint
(``cola-export-mergekit``; ``scripts/export_mergekit.py``).

    python scripts/export_mergekit.py --model smollm2 --chain 0-9,9,10-29 --out recipe.yaml
    mergekit-yaml recipe.yaml merged/ --copy-tokenizer --clone-tensors   # in mergekit's own environment

``--model`` is a local transformers checkpoint, or an embedded model or .gguf file, whose cached
safetensors conversion (under ``$COLA_CACHE_DIR``) the recipe then names. For a family with
per-layer attention types (Gemma 3), the recipe's ``base_model`` is a directory written beside it
(``recipe.base/``: the source's files linked, the chain's config). The recipe names both by
absolute path: the checkpoint and the base must stay where they are.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.cli.chain_choice import add_chain_choice, chosen_chain
from cola.loading import local_checkpoint
from cola.mergekit_recipe import read_config, write_mergekit_recipe


def parser() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    options.add_argument(
        "--model", default="smollm2", help="checkpoint directory, embedded model or .gguf (default: smollm2)"
    )
    add_chain_choice(options)
    options.add_argument("--out", type=Path, required=True, help="the recipe (YAML) to write")
    options.add_argument("--dtype", default="float32", help="the recipe's dtype (float32 copies exactly)")
    return options


def run() -> None:
    """The console command (``cola-export-mergekit``) and the script's entry."""
    args = parser().parse_args()
    try:
        checkpoint = local_checkpoint(args.model)
        # the resolved checkpoint, not the spec: a GGUF is hashed to find its conversion once, not twice
        chain = chosen_chain(args, str(checkpoint), lambda: read_config(checkpoint).num_hidden_layers)
        written = write_mergekit_recipe(checkpoint, chain, args.out, dtype=args.dtype)
    except (FileNotFoundError, ValueError, KeyError, OSError) as error:
        raise SystemExit(f"error: {error.args[0] if isinstance(error, KeyError) else error}") from None
    print(f"{args.out}: passthrough recipe, {len(chain)} layers over {checkpoint}")
    for extra in written[1:]:
        print(
            f"{extra}: the chain's config over the source's files (the recipe's base_model; keep it beside)"
        )
    print(f"build it: mergekit-yaml {args.out} MERGED_DIR --copy-tokenizer --clone-tensors")
