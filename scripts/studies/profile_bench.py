"""Profile the search bench side by side: checkouts x transformers versions, one run.

    python scripts/studies/profile_bench.py --checkout HEAD=. --checkout old=/tmp/old \
        --transformers installed= --transformers 5.23=/tmp/tf523 -- limit=3 search.stop.enabled=false

Each (checkout, transformers) pair runs the bench's engine and naive variants, each in a fresh
process (``benchmarks.benches.bench.run_variant`` of that checkout, its own conf/), plus the
engine again under cProfile; the pairs alternate, so a change in the machine's load touches them
alike. ``--transformers NAME=DIR`` puts DIR (a ``pip install --target`` folder) first on the path;
an empty DIR is the installed version. Prints the wall table and each pair's top functions by
own time, and writes both as JSON to ``--out``. A checkout is any folder holding the project
(``git worktree add /tmp/old <commit>``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import cProfile, json, pstats, sys, time
from dataclasses import replace
from pathlib import Path
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf
import transformers
from benchmarks.benches.bench import BenchVariant, run_variant

mode, overrides = sys.argv[1], sys.argv[2:]
with initialize_config_dir(config_dir=str(Path.cwd() / "conf"), version_base="1.3"):
    cfg = compose("bench_search", overrides=overrides)
engine = instantiate(cfg.engine)
if mode == "naive":
    engine = replace(engine, reuse_prefixes=False)
variant = BenchVariant(OmegaConf.to_container(cfg.model), instantiate(cfg.benchmark), instantiate(cfg.search),
                       engine, cfg.limit, cfg.seed, cfg.threads)
profiler = cProfile.Profile() if mode == "profile" else None
if profiler:  # profile the searches only: start once the model is loaded and the queries are built
    import benchmarks.benches.bench as bench

    build_queries = bench.build_queries

    def build_then_profile(*args, **kwargs):
        queries = build_queries(*args, **kwargs)
        profiler.enable()
        return queries

    bench.build_queries = build_then_profile
result = run_variant(variant)
top = []
if profiler:
    profiler.disable()
    stats = pstats.Stats(profiler).sort_stats("tottime")
    for (file, line, name), (calls, _, own, total, _) in list(stats.stats.items()):
        top.append([f"{Path(file).name}:{line}:{name}", calls, own, total])
    top = sorted(top, key=lambda row: -row[2])[:25]
print(json.dumps({"transformers": transformers.__version__, "wall": result["wall_seconds"],
                  "token_layer_forwards": result["token_layer_forwards"], "top": top}))
"""


def pair_run(checkout: Path, library: str, mode: str, overrides: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (library, str(checkout))))}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, *overrides], cwd=checkout, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"error: {checkout} {mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def named(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, value


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkout", type=named, action="append", required=True)
    parser.add_argument("--transformers", type=named, action="append", required=True)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("overrides", nargs="*", help="bench_search settings, e.g. limit=3")
    args = parser.parse_args()
    pairs = [(c, t) for c in args.checkout for t in args.transformers]
    results = {f"{c[0]} · transformers {t[0] or 'installed'}": {} for c, t in pairs}
    for mode in ("engine", "naive", "profile"):
        for (checkout, library), key in zip(pairs, results, strict=True):
            results[key][mode] = pair_run(Path(checkout[1]).resolve(), library[1], mode, args.overrides)
            print(f"{key} {mode}: {results[key][mode]['wall']:.1f} s", file=sys.stderr)
    lines = [
        "| checkout · transformers | version | engine s | naive s | naive / engine | engine ms per token-layer |",
        "|---|---|---|---|---|---|",
    ]
    for key, runs in results.items():
        engine, naive = runs["engine"], runs["naive"]
        lines.append(
            f"| {key} | {engine['transformers']} | {engine['wall']:.1f} | {naive['wall']:.1f} | "
            f"{naive['wall'] / engine['wall']:.2f}x | {1000 * engine['wall'] / engine['token_layer_forwards']:.4f} |"
        )
    for key, runs in results.items():
        lines += ["", f"Top functions by own time, engine under cProfile, {key}:", ""]
        lines += [
            f"- {name}: {own:.2f} s own, {total:.2f} s total, {calls} calls"
            for name, calls, own, total in runs["profile"]["top"][:12]
        ]
    print("\n".join(lines))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))
        args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
