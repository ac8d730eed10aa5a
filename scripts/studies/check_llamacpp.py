"""Chains exported as GGUF, checked by llama.cpp itself (llama-cpp-python, the llamacpp extra), on
both embedded models: for the identity chain and a skip, a repeat and a reorder chain, on 20
prompts, llama.cpp's next-token distribution against cola's for that chain and for every chain one
edit away, greedy continuations of 32 tokens compared; the source GGUF and the identity export run
in llama.cpp side by side; then llama.cpp's prefill and decode speed of the full model and of
shorter chains against the ratio their layers and the LM head predict, beside cola's own greedy
decoding. Writes llamacpp-<part>.md and .json.

    python scripts/studies/check_llamacpp.py --part correctness --out docs/results/runtimes
    python scripts/studies/check_llamacpp.py --part speed --out docs/results/runtimes   # nothing else running
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from benchmarks.benches.runtime_check import (
    CHAINS,
    PROMPTS,
    check_prompt,
    llama_next_logits,
    neighbours,
    tokens_per_second,
)
from benchmarks.cli.chain_choice import add_policy_checks, policy_chains, policy_files
from benchmarks.runs.session import open_model, set_threads
from cola import parse_chain
from cola.gguf_export import export_gguf
from cola.loading import EMBEDDED, cache_root, embedded_gguf_path

SPEED_CHAINS = {  # chains of fewer layers for the speed table (every k-th layer removed)
    "smollm2": {
        "30 layers": "0-29",
        "24 layers": "0-3,5-8,10-13,15-18,20-23,25-27,29",
        "18 layers": "0,1,3,4,6,8,10,11,13,15,17,18,20,22,24,25,27,29",
    },
    "gemma3_270m": {
        "18 layers": "0-17",
        "14 layers": "0-2,4-6,8-10,12-14,16,17",
        "10 layers": "0,2,4,6,8,10,12,14,16,17",
    },
}
HEAD_IN_LAYERS = {"smollm2": 8.0, "gemma3_270m": 30.0}  # FACTS.md: the LM head's cost in layers
GREEDY_TOKENS = 32


def llama(path: Path, threads: int):
    from llama_cpp import Llama

    return Llama(model_path=str(path), n_ctx=256, n_threads=threads, logits_all=True, verbose=False)


def exported(model: str, name: str, text: str, n_layers: int) -> Path:
    # the chain's text in the name: a policy file rewritten under the same name is exported afresh
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    out = cache_root() / "runtime-check" / f"{model}-{name.replace(' ', '')}-{digest}.gguf"
    if not out.is_file():
        export_gguf(embedded_gguf_path(EMBEDDED[model]), parse_chain(text, n_layers), out)
    return out


def correctness(model: str, loaded, chain_model, threads: int, chains: dict[str, str] | None = None) -> dict:
    """The checks on ``chains`` (name -> text; the four fixed chains by default), and the source GGUF
    against the identity export."""
    prompts = [loaded.tokenizer(prompt).input_ids for prompt in PROMPTS]
    results = {}
    for name, text in (chains or CHAINS[model]).items():
        chain = parse_chain(text, loaded.n_layers)
        llm = llama(exported(model, name, text, loaded.n_layers), threads)
        checks = [
            check_prompt(chain_model, llm, ids, chain, neighbours(chain), GREEDY_TOKENS) for ids in prompts
        ]
        results[name] = {
            "chain": text,
            "prompts": [asdict(c) | {"nearer": c.nearer_than_every_neighbour} for c in checks],
        }
    source = llama(embedded_gguf_path(EMBEDDED[model]), threads)
    identity = llama(exported(model, "identity", CHAINS[model]["identity"], loaded.n_layers), threads)
    gaps = [
        float(np.abs(llama_next_logits(source, ids) - llama_next_logits(identity, ids)).max())
        for ids in prompts
    ]
    source.close()
    identity.close()
    results["source vs identity export, max |Δlogit|"] = max(gaps)
    return results


@torch.inference_mode()
def cola_decode_rate(chain_model, ids: list[int], chain, new_tokens: int) -> float:
    start = time.perf_counter()
    chain_model.generate(torch.tensor([ids]), chain, max_new_tokens=new_tokens, eos_token_id=-1)
    return new_tokens / (time.perf_counter() - start)


def speed(
    model: str, loaded, chain_model, threads: int, chains: dict[str, str] | None = None, new_tokens: int = 64
) -> list[dict]:
    """Prefill and decode rates of ``chains`` (the full chain first; the fixed shorter chains by
    default), each against the first."""
    ids = loaded.tokenizer(" ".join(PROMPTS[:6])).input_ids
    rows, base = [], None
    for name, text in (chains or SPEED_CHAINS[model]).items():
        chain = parse_chain(text, loaded.n_layers)
        llm = llama(exported(model, name, text, loaded.n_layers), threads)
        tokens_per_second(llm, ids, 4)  # warm-up
        rates = [tokens_per_second(llm, ids, new_tokens) for _ in range(3)]
        prefill, decode = (statistics.median(r[i] for r in rates) for i in (0, 1))
        llm.close()
        ours = statistics.median(cola_decode_rate(chain_model, ids, chain, new_tokens) for _ in range(3))
        base = base or (prefill, decode, ours, len(chain))
        head = HEAD_IN_LAYERS[model]
        rows.append(
            {
                "chain": name,
                "layers": len(chain),
                "llama.cpp prefill tok/s": prefill,
                "llama.cpp decode tok/s": decode,
                "decode speed-up": decode / base[1],
                "predicted (layers + head)": (base[3] + head) / (len(chain) + head),
                "cola greedy tok/s": ours,
                "cola speed-up": ours / base[2],
            }
        )
    return rows


def correctness_markdown(found: dict) -> list[str]:
    lines = []
    for model, result in found.items():
        lines += [
            f"### {model}: llama.cpp against cola, chain by chain",
            "",
            "| chain | nearer than every neighbour | KL to cola's chain (median) | nearest neighbour's KL (median) | same top token | greedy 32 tokens equal |",
            "|---|---|---|---|---|---|",
        ]
        for name, checked in result.items():
            if not isinstance(checked, dict):
                continue
            prompts = checked["prompts"]
            lines.append(
                f"| {name} ({checked['chain']}) | {sum(p['nearer'] for p in prompts)} / {len(prompts)} | "
                f"{statistics.median(p['kl_to_chain'] for p in prompts):.4f} | "
                f"{statistics.median(p['nearest_neighbour_kl'] for p in prompts):.4f} | "
                f"{sum(p['same_top_token'] for p in prompts)} / {len(prompts)} | "
                f"{sum(p['greedy_first_divergence'] is None for p in prompts)} / {len(prompts)} |"
            )
        gap = result["source vs identity export, max |Δlogit|"]
        lines += [
            "",
            f"The source GGUF and the identity export in llama.cpp: max |Δlogit| {gap:.3g} over the prompts.",
            "",
        ]
    return lines


def speed_markdown(found: dict) -> list[str]:
    lines = []
    for model, rows in found.items():
        lines += [
            f"### {model}: speed",
            "",
            "| chain | layers | llama.cpp prefill tok/s | decode tok/s | decode speed-up | predicted (layers + head) | cola greedy tok/s | cola speed-up |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in rows:
            lines.append(
                f"| {row['chain']} | {row['layers']} | {row['llama.cpp prefill tok/s']:.0f} | {row['llama.cpp decode tok/s']:.1f} | "
                f"{row['decode speed-up']:.2f}× | {row['predicted (layers + head)']:.2f}× | {row['cola greedy tok/s']:.1f} | {row['cola speed-up']:.2f}× |"
            )
        lines.append("")
    return lines


PARTS = {"correctness": correctness, "speed": speed}
WRITERS = {"correctness": correctness_markdown, "speed": speed_markdown}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--models", nargs="+", default=list(CHAINS), choices=list(CHAINS))
    parser.add_argument(
        "--part", choices=list(PARTS), required=True, help="speed wants a machine with nothing else running"
    )
    parser.add_argument("--threads", type=int, default=2)
    add_policy_checks(parser, "llamacpp-policies-<part>.md (speed: beside the full chain)")
    args = parser.parse_args()
    policies = policy_files(args)
    if policies:
        args.models = list(policies)
    import llama_cpp

    set_threads(args.threads)
    found, start = {}, time.perf_counter()
    for model in args.models:
        loaded, chain_model = open_model(spec=model)
        if policies:
            chains = policy_chains(policies[model], loaded, chain_model)
            if args.part == "speed":  # beside the full chain
                chains = {f"{loaded.n_layers} layers": f"0-{loaded.n_layers - 1}"} | chains
            found[model] = PARTS[args.part](model, loaded, chain_model, args.threads, chains)
        else:
            found[model] = PARTS[args.part](model, loaded, chain_model, args.threads)
    load = os.getloadavg()[0]
    header = (
        f"llama.cpp through llama-cpp-python {llama_cpp.__version__}, {args.threads} threads, on {platform.machine()} "
        f"({time.strftime('%Y-%m-%d')}); cola fp32 on the same threads; {time.perf_counter() - start:.0f} s, "
        f"1-minute load {load:.1f} at the end."
    )
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"policies-{args.part}" if policies else args.part
    if policies:
        header += " Policies: " + ", ".join(f"{model} {file}" for model, file in policies.items()) + "."
    (args.out / f"llamacpp-{name}.json").write_text(
        json.dumps({"header": header, "models": found}, indent=1) + "\n"
    )
    text = "\n".join([header, "", *WRITERS[args.part](found)])
    (args.out / f"llamacpp-{name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
