"""Pruning rules beside random removals of their own form, on a validation split: accuracy and
agreement with the full chain against layers removed (resumable, shardable).

    python scripts/studies/pruning_curves.py --model smollm2 --prior docs/results/faithful/smollm2/static_keep_rate/path.json \
        --out outputs/pruning/smollm2 [--sizes 1 2 4 8] [--draws 40] [--shard 0/2]

Rules (scripts/prune.py): Block Influence and angular distance measured on the contexts of
``--texts`` unlabelled ARC training questions, reverse order, reverse keeping the last layer, and
the prior's keep-rate order (a prior read on validation would read the curves' own split: give a
training screen, such as a static race's path.json). Controls: ``--draws`` random removals per size of each form (any n
layers; a block of n; n layers other than the last). Writes results.jsonl (each chain's choice
scores per question), then table.md, statistics.json and curves.png; a run made in shards (``--shard 0/2`` and
``1/2`` into two folders) is tabled from its shards' folders without a forward pass:

    python scripts/studies/pruning_curves.py --model smollm2 --out outputs/pruning/smollm2 \
        --table outputs/pruning/smollm2-shard0 outputs/pruning/smollm2-shard1
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.analysis.pruning_curves import curve_statistics, curves_table
from benchmarks.analysis.search_summary import merge_shard_records, merged_settings
from benchmarks.learners.pruning import measure_layers, removed_layers
from benchmarks.runs.chain_sets import run_chain_list
from benchmarks.runs.session import exit_on_user_error, open_model, set_threads, shard_argument
from benchmarks.tasks import TaskConfig
from search.pruning import FORMS, RULES, pruned_chain, random_removal


def chains_to_score(
    n_layers: int, sizes: list[int], draws: int, stats, prior: str | None
) -> dict[str, tuple]:
    rules = [rule for rule in RULES if rule != "keep_rate" or prior is not None]
    chains = {
        f"{rule}-{n}": pruned_chain(
            removed_layers(rule, n, n_layers, stats=stats, prior_file=prior), n_layers
        )
        for rule in rules
        for n in sizes
    }
    rng = np.random.default_rng(0)
    for form in FORMS:
        for n in sizes:
            for draw in range(draws):
                chains[f"random-{form}-{n}-{draw}"] = pruned_chain(
                    random_removal(n_layers, n, form, rng), n_layers
                )
    return chains


def plot(statistics: dict, out: Path, title: str) -> None:
    """One column per control form: its rules' curves over the middle 95% of its random removals
    (accuracy above, agreement with the full chain below)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rules = statistics["rules"]
    forms = [form for form in FORMS if any(curve["control"] == form for curve in rules.values())]
    figure, axes = plt.subplots(2, len(forms), figsize=(4.2 * len(forms), 7), squeeze=False)
    full = (statistics["full"]["accuracy"], 1.0)
    for column, form in enumerate(forms):
        sizes = list(statistics["random"][form])
        x = [int(size) for size in sizes]
        for row, measure in enumerate(("accuracy", "agreement")):
            axis = axes[row][column]
            bands = [statistics["random"][form][size][measure] for size in sizes]
            axis.fill_between(
                x,
                [b["p2.5"] for b in bands],
                [b["p97.5"] for b in bands],
                alpha=0.25,
                label=f"random, {form}",
            )
            for rule, curve in rules.items():
                if curve["control"] == form:
                    axis.plot(x, [curve["sizes"][size][measure] for size in sizes], marker="o", label=rule)
            axis.axhline(full[row], color="black", linestyle="--", label="full chain")
            low, high = axis.get_ylim()  # a line inside the autoscale margin can sit on the frame
            axis.set_ylim(min(low, full[row] - 0.02), max(high, full[row] + 0.02))
            axis.set_xlabel("layers removed")
            axis.set_ylabel(measure)
        axes[0][column].legend(fontsize=7)
    figure.suptitle(f"{title}: each rule beside random removals of its form (middle 95%)")
    figure.tight_layout()
    figure.savefig(out, dpi=110)


def write_curves(
    records: list[dict], sizes: list[int], draws: int, names: list[str], out: Path, title: str
) -> None:
    """table.md, statistics.json (every figure of the table, each rule's picked size) and curves.png."""
    rules = list(dict.fromkeys(name.rsplit("-", 1)[0] for name in names if not name.startswith("random")))
    statistics = curve_statistics(records, sizes, draws, rules)
    out.mkdir(parents=True, exist_ok=True)
    (out / "statistics.json").write_text(json.dumps(statistics, indent=1) + "\n")
    (out / "table.md").write_text(curves_table(statistics))
    plot(statistics, out / "curves.png", title)
    print((out / "table.md").read_text())


def shards_table(shard_dirs: list[Path], out: Path, model: str) -> None:
    """The table and plot of a run made in shards, from their records (checked to be one run),
    merged into ``out`` as one run."""
    settings = merged_settings(shard_dirs)
    names = [name for name in settings["chains"] if name != "full"]
    records = merge_shard_records(shard_dirs, out)  # one run, which pruning_test.py --validation reads
    rules = [name for name in names if not name.startswith("random")]
    sizes = sorted({int(name.rsplit("-", 1)[1]) for name in rules})
    draws = 1 + max(int(name.rsplit("-", 1)[1]) for name in names if name.startswith("random"))
    task = settings["task"]
    write_curves(records, sizes, draws, names, out, f"{model} · {task['benchmark']} {task['split']}")


@exit_on_user_error
def main(args: argparse.Namespace) -> None:
    if args.table:
        shards_table(args.table, args.out, args.model)
        return
    set_threads(args.threads)
    loaded, chain_model = open_model(spec=args.model)
    task = TaskConfig(benchmark=args.benchmark, split=args.split, mode="loglikelihood")
    if task.split == "test":
        raise ValueError(
            "the pruning curves choose sizes: run them on validation, and read test once per method"
        )
    stats = measure_layers(chain_model, loaded.tokenizer, task, args.sizes, texts=args.texts)
    chains = chains_to_score(loaded.n_layers, args.sizes, args.draws, stats, args.prior)
    records = run_chain_list(
        chain_model,
        loaded.tokenizer,
        task,
        chains,
        args.out,
        limit=args.limit,
        shard=args.shard,
        progress=args.progress,
    )
    print(f"{len(records)} questions scored under {len(chains) + 1} chains -> {args.out}")
    if args.shard == (0, 1):
        write_curves(
            records,
            args.sizes,
            args.draws,
            list(chains),
            args.out,
            f"{loaded.name} · {task.benchmark} {task.split}",
        )


def parser() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    options.add_argument("--model", default="smollm2")
    options.add_argument("--benchmark", default="arc_easy", choices=["arc_easy", "arc_challenge"])
    options.add_argument("--split", default="validation", choices=["train", "validation"])
    options.add_argument("--out", type=Path, required=True)
    options.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4, 8])
    options.add_argument("--draws", type=int, default=40)
    options.add_argument("--texts", type=int, default=200)
    options.add_argument(
        "--prior",
        default=None,
        help="the keep_rate rule's single-skip keep rates: an edit prior with keep rates or a static race's path.json",
    )
    options.add_argument("--limit", type=int, default=None)
    options.add_argument("--shard", type=shard_argument, default=(0, 1), help="INDEX/COUNT")
    options.add_argument("--threads", type=int, default=1)
    options.add_argument("--progress", action="store_true")
    options.add_argument(
        "--table",
        type=Path,
        nargs="+",
        default=None,
        metavar="SHARD_DIR",
        help="no forward pass: the table and plot of a run made in shards, from their folders, into --out",
    )
    return options


if __name__ == "__main__":
    main(parser().parse_args())
