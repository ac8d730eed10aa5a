"""Read the test split once per pruning rule, at the size its validation curve picked (the largest
removal within one point of the full chain's accuracy), beside the same random removals of its form
at that size (resumable, shardable).

    python scripts/studies/pruning_test.py --validation outputs/pruning/smollm2 --model smollm2 \
        --out outputs/pruning/smollm2-test [--shard 0/2]
    python scripts/studies/pruning_test.py --validation outputs/pruning/smollm2 \
        --table outputs/pruning/smollm2-test-shard0 outputs/pruning/smollm2-test-shard1 \
        --out-table outputs/pruning/smollm2-test/table.md

The chains are the validation run's own (its run_settings.json names them), so the rules' layer
measurements and the random draws are not redone. The table gives each rule's accuracy, its
difference from the full chain on the same questions (paired bootstrap interval) and their
agreement, on the whole split, the development rows and rows 500+, and where the rule stands among
its random removals; <table>-statistics.json beside the table holds every figure.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.analysis.pruning_curves import chosen_size, split_reading_statistics, split_reading_table
from benchmarks.results import load_records
from benchmarks.runs.chain_sets import run_chain_list
from benchmarks.runs.session import emit_table, exit_on_user_error, open_model, set_threads, shard_argument
from benchmarks.tasks import TaskConfig
from cola import parse_chain
from search.pruning import CONTROL_OF


def validation_run(folder: Path) -> tuple[dict, list[dict], dict[str, str]]:
    settings_path = folder / "run_settings.json"
    if not settings_path.is_file():
        raise FileNotFoundError(f"no run_settings.json in {folder}: pass the validation curves' run")
    settings = json.loads(settings_path.read_text())
    if settings["task"]["split"] == "test":
        raise ValueError(f"{folder} is a test run; the sizes are picked on validation")
    return settings, load_records(folder), settings["chains"]


def picked_chains(
    records: list[dict], chains: dict[str, str]
) -> dict[str, tuple[str, int | None, list[str]]]:
    """Each rule's picked size, its chain's name and its control's names (None: no size kept)."""
    rules = sorted(
        {name.rsplit("-", 1)[0] for name in chains if name != "full" and not name.startswith("random")}
    )
    sizes = sorted(
        {int(name.rsplit("-", 1)[1]) for name in chains if name != "full" and not name.startswith("random")}
    )
    picked = {}
    for rule in rules:
        n = chosen_size(records, rule, sizes)
        prefix = f"random-{CONTROL_OF[rule]}-{n}-"
        picked[rule] = (f"{rule}-{n}", n, [name for name in chains if name.startswith(prefix)])
    return picked


def write_reading(records: list[dict], picked: dict, table_path: Path | None) -> None:
    """Print the test reading's table; with a path, write it there and its figures beside it
    (``<table>-statistics.json``)."""
    statistics = split_reading_statistics(records, picked)
    emit_table(split_reading_table(statistics), table_path)
    if table_path is not None:
        statistics_path = table_path.with_name(f"{table_path.stem}-statistics.json")
        statistics_path.write_text(json.dumps(statistics, indent=1) + "\n")


@exit_on_user_error
def main(args: argparse.Namespace) -> None:
    settings, records, chains = validation_run(args.validation)
    picked = picked_chains(records, chains)
    if args.table:
        write_reading([r for run in args.table for r in load_records(run)], picked, args.out_table)
        return
    if args.out is None:
        raise ValueError("--out is needed to read the test split (or --table to print one)")
    if all(n is None for _, n, _ in picked.values()):
        print(
            f"no rule keeps its validation accuracy within one point of the full chain's at any size "
            f"({', '.join(picked)}): the test split is not read"
        )
        return
    set_threads(args.threads)
    loaded, chain_model = open_model(spec=args.model)
    n_layers = chain_model.n_layers
    wanted = {
        name for _, (name, n, controls) in picked.items() if n is not None for name in [name, *controls]
    }
    task = TaskConfig(benchmark=settings["task"]["benchmark"], split="test", mode="loglikelihood")
    run_chain_list(
        chain_model,
        loaded.tokenizer,
        task,
        {name: parse_chain(chains[name], n_layers) for name in sorted(wanted)},
        args.out,
        limit=args.limit,
        shard=args.shard,
        progress=args.progress,
    )
    if args.shard == (0, 1):
        write_reading(load_records(args.out), picked, args.out / "table.md")


def parser() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    options.add_argument("--validation", type=Path, required=True, help="the validation curves' run folder")
    options.add_argument("--model", default="smollm2")
    options.add_argument("--out", type=Path, default=None, help="the test run folder")
    options.add_argument(
        "--table", type=Path, nargs="+", default=None, help="print the table of these test runs"
    )
    options.add_argument(
        "--out-table",
        type=Path,
        default=None,
        help="also write the table here (its figures beside it as <name>-statistics.json)",
    )
    options.add_argument("--limit", type=int, default=None, help="the first N test questions (a trial)")
    options.add_argument("--shard", type=shard_argument, default=(0, 1), help="INDEX/COUNT")
    options.add_argument("--threads", type=int, default=1)
    options.add_argument("--progress", action="store_true")
    return options


if __name__ == "__main__":
    main(parser().parse_args())
