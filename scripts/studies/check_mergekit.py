"""Chains written as mergekit passthrough recipes, checked by mergekit itself, on both embedded models:
for the identity chain and a skip, a repeat and a reorder chain, ``mergekit-yaml`` (its own
environment: scripts/setup_mergekit.sh) builds the recipe over the model's local safetensors
checkpoint, and its output is compared with ``materialize.py``'s checkpoint of the same chain tensor
by tensor and by next-token logits on 20 prompts, and with cola's forward pass of the chain. Gemma 3's
per-layer attention types come from the config base the recipe names (checked equal to materialize's).
Writes mergekit.md and mergekit.json.

    bash scripts/setup_mergekit.sh
    python scripts/studies/check_mergekit.py --out docs/results/runtimes
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from transformers import AutoModelForCausalLM

from benchmarks.benches.mergekit_check import (
    attention_types,
    build_with_mergekit,
    compare_logits,
    compare_tensors,
)
from benchmarks.benches.runtime_check import CHAINS, PROMPTS
from benchmarks.cli.chain_choice import add_policy_checks, policy_chains, policy_files
from benchmarks.runs.session import open_model, set_threads
from cola import parse_chain
from cola.loading import local_checkpoint
from cola.materialize import save_materialized
from cola.mergekit_recipe import write_mergekit_recipe

DEFAULT_MERGEKIT = Path(".venv-mergekit/bin/mergekit-yaml")


def environment_versions(mergekit_yaml: Path) -> dict[str, str]:
    """mergekit's, transformers' and torch's versions in mergekit's own environment (its Python)."""
    python = mergekit_yaml.parent / "python"
    asked = "import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in ('mergekit', 'transformers', 'torch')}))"
    done = subprocess.run([str(python), "-c", asked], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def check_chain(
    model: str, name: str, text: str, loaded, chain_model, mergekit_yaml: Path, work: Path, checkpoint: Path
) -> dict:
    chain = parse_chain(text, loaded.n_layers)
    recipe, built, reference = work / "recipe.yaml", work / "mergekit", work / "materialized"
    write_mergekit_recipe(checkpoint, chain, recipe)
    seconds = build_with_mergekit(mergekit_yaml, recipe, built)
    save_materialized(loaded.model, loaded.tokenizer, chain, reference)
    found = {"model": model, "chain": name, "text": text, "layers": len(chain), "mergekit_s": seconds}
    found["attention_types_equal"] = attention_types(built) == attention_types(reference)
    found["tensors"] = compare_tensors(built, reference)
    prompts = [loaded.tokenizer(prompt).input_ids for prompt in PROMPTS]
    built_model = AutoModelForCausalLM.from_pretrained(built, dtype="float32").eval()
    reference_model = AutoModelForCausalLM.from_pretrained(reference, dtype="float32").eval()
    found["logits"] = compare_logits(built_model, reference_model, chain_model, chain, prompts)
    return found


def markdown(rows: list[dict], settings: dict) -> str:
    lines = [
        "# mergekit builds cola's chains",
        "",
        f"mergekit {settings['mergekit']} with transformers {settings['transformers']} and torch "
        f"{settings['torch']} in its own environment; {settings['machine']}; {len(PROMPTS)} prompts; fp32.",
        f"Command: `{settings['command']}`",
        "",
        "| model | chain | layers | tensors | equal to materialize.py | max logit diff vs materialize / cola "
        "| top token = cola | layer types equal | mergekit s |",
        "|---|---|---:|---:|---|---|---|---|---:|",
    ]
    for row in rows:
        tensors, logits = row["tensors"], row["logits"]
        lines.append(
            f"| {row['model']} | {row['chain']} `{row['text']}` | {row['layers']} | {tensors['tensors']} "
            f"| {'yes' if tensors['equal'] else 'NO'} "
            f"| {logits['max_abs_vs_materialized']:.1e} / {logits['max_abs_vs_cola']:.1e} "
            f"| {'yes' if logits['top_token_equal'] else 'NO'} "
            f"| {'yes' if row['attention_types_equal'] else 'NO'} | {row['mergekit_s']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    options = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    options.add_argument("--models", default="smollm2,gemma3_270m")
    options.add_argument("--mergekit", type=Path, default=DEFAULT_MERGEKIT, help="the mergekit-yaml to run")
    options.add_argument("--out", type=Path, required=True)
    add_policy_checks(options, "mergekit-policies.md")
    args = options.parse_args()
    policies = policy_files(args)
    models = list(policies) or args.models.split(",")
    set_threads(1)
    rows = []
    for model in models:
        loaded, chain_model = open_model(spec=model)
        checkpoint = local_checkpoint(model)  # once a model: resolving a GGUF's conversion hashes the file
        chains = CHAINS[model]
        if policies:
            chains = policy_chains(policies[model], loaded, chain_model)
        for name, text in chains.items():
            work = Path(tempfile.mkdtemp(prefix="cola-mergekit-"))
            try:
                rows.append(
                    check_chain(model, name, text, loaded, chain_model, args.mergekit, work, checkpoint)
                )
            finally:
                shutil.rmtree(work, ignore_errors=True)
            print(json.dumps(rows[-1]))
    settings = {
        **environment_versions(args.mergekit),
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores",
        "command": "python scripts/studies/check_mergekit.py --out "
        + str(args.out)
        + "".join(f" --policy {model}={file}" for model, file in policies.items()),
        "date": time.strftime("%Y-%m-%d"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = "mergekit-policies" if policies else "mergekit"
    (args.out / f"{name}.json").write_text(json.dumps({"settings": settings, "rows": rows}, indent=2) + "\n")
    (args.out / f"{name}.md").write_text(markdown(rows, settings))
    print(markdown(rows, settings))


if __name__ == "__main__":
    main()
