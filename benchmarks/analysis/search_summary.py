"""Rates from per-sample search records (``results.jsonl``): what every report and summary says.

Definitions (CoLa, arXiv 2507.07996, Sec. 4): *shortening rate* = of the samples the full chain
answers correctly, the fraction with a correct chain shorter than L; *correction rate* = of the
samples the full chain gets wrong, the fraction with any correct chain. Everything here is
recomputed from the records, so a merged or resumed run reports exactly what its JSONL holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks.analysis.reach import found_within, reach, with_twin
from benchmarks.analysis.search_compare import BUDGETS
from benchmarks.analysis.stats import (
    mcnemar_exact,
    median_p90,
    paired_bootstrap_interval,
    rate,
    sign_flip_p,
)
from benchmarks.machine import summarize_machine
from benchmarks.results import (
    SETTINGS_FILE,
    ResultsLog,
    SettingsMismatch,
    claim_run_dir,
    settings_changes,
    write_json,
)

PAPER = {"shortening_rate": 0.75, "correction_rate": 0.60}  # "over 75%" / "over 60%" (abstract)


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _with_interval(name: str, flags: list[bool]) -> dict:
    value, interval = rate(flags)
    return {name: value, f"{name}_ci": interval}


def genuine_correction(paired: list[dict], budget: int | None = None, suffix: str = "") -> dict:
    """Correction toward gold minus toward the placebo on the same samples (within ``budget``
    evaluations, or the whole search), with its paired-bootstrap interval and McNemar p-value."""
    gold = [found_within(r, budget) for r in paired]
    placebo = [found_within(r, budget, "placebo_") for r in paired]
    gold_rate, placebo_rate = rate(gold), rate(placebo)
    difference = gold_rate[0] - placebo_rate[0] if paired else None
    return {
        f"paired_correction_rate{suffix}": gold_rate[0],
        f"paired_correction_rate{suffix}_ci": gold_rate[1],
        f"placebo_correction_rate{suffix}": placebo_rate[0],
        f"placebo_correction_rate{suffix}_ci": placebo_rate[1],
        f"genuine_correction{suffix}": difference,
        f"genuine_correction{suffix}_ci": paired_bootstrap_interval(gold, placebo),
        f"genuine_correction{suffix}_p": mcnemar_exact(gold, placebo),
    }


def placebo_summary(wrong: list[dict]) -> dict:
    """The placebo-paired figures over originally-wrong samples that have a placebo."""
    paired = with_twin(wrong)
    reached = reach(paired)
    evaluated = sum(r["n_evaluated"] - 1 for r in paired)
    summary = {
        "n_placebo_pairs": len(paired),
        "n_wrong_without_placebo": sum(r.get("placebo") is None for r in wrong),
        **genuine_correction(paired),
        "by_budget": {budget: genuine_correction(paired, budget) for budget in BUDGETS if budget <= reached},
        "gold_pick_share": sum(r["gold_picks"] for r in paired) / evaluated if evaluated else None,
        "placebo_pick_share": sum(r["placebo_picks"] for r in paired) / evaluated if evaluated else None,
        # Means over the samples where both targets were reached, so both average the same samples.
        **paired_means(paired, "first_correct_evaluation", "mean_first_correct_evaluation"),
        **paired_means(paired, "best_length", "mean_best_length"),
        **by_gold_rank(paired),
        "placebo_mean_extra_chains": _mean([r["placebo_extra_chains"] for r in paired]),
        "placebo_mean_seconds": _mean([r["placebo_seconds"] for r in paired]),
    }
    summary["by_budget"] = {str(k): v for k, v in summary["by_budget"].items()}
    return summary


def paired_means(paired: list[dict], field: str, name: str) -> dict:
    """Mean of ``field`` toward gold and toward the placebo over the samples where both were reached."""
    both = [r for r in paired if r[field] is not None and r[f"placebo_{field}"] is not None]
    return {
        f"{name}_gold": _mean([r[field] for r in both]),
        f"{name}_placebo": _mean([r[f"placebo_{field}"] for r in both]),
        f"{name}_n_both": len(both),
    }


RANK_SPLIT_BUDGET = 25  # genuine correction by gold's rank reads "within 25", or the run's reach


def by_gold_rank(paired: list[dict]) -> dict:
    """How often gold is the full chain's runner-up, and genuine correction where it is and where
    it ranks lower: a search that only flips near-ties gains where gold is the runner-up."""
    ranked = [r for r in paired if r.get("gold_rank") is not None]
    if not ranked:
        return {}
    runner_up = [r for r in ranked if r["gold_rank"] == 1]
    lower = [r for r in ranked if r["gold_rank"] >= 2]
    budget = min(RANK_SPLIT_BUDGET, reach(ranked))
    return {
        **_with_interval("runner_up_share", [r["gold_rank"] == 1 for r in ranked]),
        "placebo_runner_up_share": float(np.mean([r["placebo_rank"] == 1 for r in ranked])),
        "rank_split_budget": budget,
        "gold_runner_up": genuine_correction(runner_up, budget) | {"n": len(runner_up)},
        "gold_lower": genuine_correction(lower, budget) | {"n": len(lower)},
    }


def shortening_control(correct: list[dict]) -> dict:
    """The placebo twin on originally-correct samples (``control=placebo_all``): how short a chain
    picking a wrong answer gets beside how short one keeping the gold answer gets. Where the
    placebo is reached as short, the search's depth, not the model's knowledge, set the answer."""
    paired = with_twin(correct)
    both = [r for r in paired if r["placebo_best_length"] is not None]
    gold, placebo = [r["best_length"] for r in both], [r["placebo_best_length"] for r in both]
    return {
        "n_shortening_pairs": len(paired),
        **_with_interval("placebo_reached_rate", [r["placebo_best_chain"] is not None for r in paired]),
        "mean_best_length_kept": _mean([r["best_length"] for r in paired]),
        "mean_best_length_placebo": _mean(placebo),
        "length_gap": _mean(list(np.subtract(placebo, gold))),
        "length_gap_ci": paired_bootstrap_interval(placebo, gold),
        "length_gap_p": sign_flip_p(placebo, gold),
    }


def seconds_quantiles(records: list[dict]) -> dict:
    median, p90 = median_p90([r["seconds"] for r in records]) or (None, None)
    return {"median_seconds_per_sample": median, "p90_seconds_per_sample": p90}


def seconds_per_try(records: list[dict]) -> float | None:
    """The median cost of one try: a draw for the model's own tries, a chain evaluation (the
    sample's seconds over the chains it evaluated) for a chain search."""
    costs = [
        r["try_seconds"] if "try_seconds" in r else r["seconds"] / r["n_evaluated"]
        for r in records
        if r["n_evaluated"] > 1
    ]
    return float(np.median(costs)) if costs else None


def summarize_search(records: list[dict]) -> dict:
    correct = [r for r in records if r["original_correct"]]
    wrong = [r for r in records if not r["original_correct"]]
    best_lengths = [r["best_length"] for r in records if r["best_length"] is not None]
    correct_lengths = [r["best_length"] for r in correct if r["best_length"] is not None]
    first = records[0] if records else {}
    summary = {
        "model": first.get("model"),
        "benchmark": first.get("benchmark"),
        "split": first.get("split"),
        "mode": first.get("mode"),
        "search": first.get("search"),
        "seed": first.get("seed"),
        "n": len(records),
        "n_layers": first.get("n_layers"),
        **_with_interval("accuracy", [r["original_correct"] for r in records]),
        **_with_interval("oracle_accuracy", [r["best_chain"] is not None for r in records]),
        "n_originally_correct": len(correct),
        "n_originally_wrong": len(wrong),
        **_with_interval("shortening_rate", [r["best_length"] < r["n_layers"] for r in correct]),
        **_with_interval("correction_rate", [r["best_chain"] is not None for r in wrong]),
        "mean_best_length": _mean(best_lengths),
        "mean_best_length_correct": _mean(correct_lengths),
        "mean_evaluations": _mean([r["n_evaluated"] for r in records]),
        "mean_layer_forwards": _mean([r["layer_forwards"] for r in records]),
        "mean_seconds_per_sample": _mean([r["seconds"] for r in records]),
        **seconds_quantiles(records),
        "seconds_per_try_median": seconds_per_try(records),
        "total_seconds": float(sum(r["seconds"] for r in records)),
        "machine": summarize_machine(records),
    }
    if any("placebo" in r for r in records):
        summary["placebo"] = placebo_summary(wrong)
    if any("placebo_best_chain" in r for r in correct):
        summary["shortening_control"] = shortening_control(correct)
    return summary


def shard_folders(multirun: Path) -> list[Path]:
    """A multirun folder's shard run directories (``shard*/``), not the logs beside them."""
    return sorted(path for path in Path(multirun).glob("shard*") if path.is_dir())


HEADLINE_KEYS = ("n", "accuracy", "oracle_accuracy", "shortening_rate", "correction_rate", "mean_best_length")


def headline(summary: dict) -> dict:
    """What a finished run prints: the rates of a gold-rewarded search, or the mean layers needed
    (and the reach control's) of a faithful one, whose summary holds no accuracy."""
    if "faithful" in summary:
        parts = ("faithful", "reach")
        return {"n": summary["n"]} | {
            f"mean_layers_{part}": summary[part]["mean"] for part in parts if summary.get(part)
        }  # a part is None when it did not run (no reach control) or had no input
    return {key: summary[key] for key in HEADLINE_KEYS}


def merge_shards(shard_dirs: list[Path], output_dir: Path) -> dict:
    """Combine shard ``results.jsonl`` files (each sample once) and summarize them together.

    The shards must be one run split up: the same settings but for their shard index. The merged
    directory records those settings with the shards it holds, so a later merge of other shards
    into it is refused like any stale restart.
    """
    records = merge_shard_records(shard_dirs, output_dir)
    summary = summarize_search(records) | {"shards": [str(s) for s in shard_dirs]}
    write_json(output_dir / "summary.json", summary)
    return summary


def merge_shard_records(shard_dirs: list[Path], output_dir: Path) -> list[dict]:
    """The shards' records (each sample once) appended to ``output_dir/results.jsonl``, which is
    claimed with their common settings (``merged_settings``); returns every merged record."""
    claim_run_dir(output_dir, merged_settings(shard_dirs))
    merged = ResultsLog(output_dir / "results.jsonl")
    for shard in shard_dirs:
        path = Path(shard) / "results.jsonl"
        if not path.is_file():
            raise FileNotFoundError(f"shard has no results: {path}")
        for record in ResultsLog(path).records:
            if record["id"] not in merged:
                merged.append(record)
    return merged.records


def merged_settings(shard_dirs: list[Path]) -> dict:
    """The shards' common settings, with ``shard`` = [their indexes, the shard count]."""
    settings = []
    for shard in shard_dirs:
        path = Path(shard) / SETTINGS_FILE
        if not path.is_file():
            raise FileNotFoundError(f"shard has no {SETTINGS_FILE}: {path}; it cannot be checked for merging")
        settings.append(json.loads(path.read_text()))
    positions = [entry.pop("shard") for entry in settings]
    for shard, entry in zip(shard_dirs[1:], settings[1:], strict=True):
        if changes := settings_changes(settings[0], entry):
            raise SettingsMismatch(f"{shard} was run with other settings than {shard_dirs[0]} ({changes})")
    # a folder merged before holds [its indexes, count]: it can be merged again, or tabled alone
    indexes = [i for index, _ in positions for i in (index if isinstance(index, list) else [index])]
    counts = {count for _, count in positions}
    if len(counts) > 1 or len(set(indexes)) < len(indexes):
        raise SettingsMismatch(f"the shards are not parts of one split run: (index, count) = {positions}")
    return settings[0] | {"shard": [sorted(indexes), counts.pop()]}
