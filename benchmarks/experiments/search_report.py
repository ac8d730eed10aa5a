"""Rates, tables and plots from per-sample search records (``results.jsonl``).

Definitions (CoLa, arXiv 2507.07996, Sec. 4): *shortening rate* = of the samples the full chain
answers correctly, the fraction with a correct chain shorter than L; *correction rate* = of the
samples the full chain gets wrong, the fraction with any correct chain. Everything here is
recomputed from the records, so a merged or resumed run reports exactly what its JSONL holds.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

from benchmarks.experiments.equal_margin_report import equal_margin_section
from benchmarks.experiments.machine import describe_machine, summarize_machine
from benchmarks.experiments.reach import found_within, reach, with_twin
from benchmarks.experiments.search_compare import BUDGETS, family_table, paired_comparisons, secondary_family
from benchmarks.experiments.search_plots import plot_report
from benchmarks.experiments.stats import (
    format_rate,
    mcnemar_exact,
    paired_bootstrap_interval,
    rate,
    sign_flip_p,
)
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
    seconds = [r["seconds"] for r in records]
    if not seconds:
        return {"median_seconds_per_sample": None, "p90_seconds_per_sample": None}
    return {
        "median_seconds_per_sample": float(np.median(seconds)),
        "p90_seconds_per_sample": float(np.percentile(seconds, 90)),
    }


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


def merge_shards(shard_dirs: list[Path], output_dir: Path) -> dict:
    """Combine shard ``results.jsonl`` files (each sample once) and summarize them together.

    The shards must be one run split up: the same settings but for their shard index. The merged
    directory records those settings with the shards it holds, so a later merge of other shards
    into it is refused like any stale restart.
    """
    claim_run_dir(output_dir, merged_settings(shard_dirs))
    merged = ResultsLog(output_dir / "results.jsonl")
    for shard in shard_dirs:
        path = Path(shard) / "results.jsonl"
        if not path.is_file():
            raise FileNotFoundError(f"shard has no results: {path}")
        for record in ResultsLog(path).records:
            if record["id"] not in merged:
                merged.append(record)
    summary = summarize_search(merged.records) | {"shards": [str(s) for s in shard_dirs]}
    write_json(output_dir / "summary.json", summary)
    return summary


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
    indexes, counts = [index for index, _ in positions], {count for _, count in positions}
    if len(counts) > 1 or len(set(indexes)) < len(indexes):
        raise SettingsMismatch(f"the shards are not parts of one split run: (index, count) = {positions}")
    return settings[0] | {"shard": [sorted(indexes), counts.pop()]}


ROWS = [
    ("samples", "n"),
    ("accuracy (full chain)", "accuracy"),
    ("oracle accuracy (some correct chain)", "oracle_accuracy"),
    ("shortening rate (of originally correct)", "shortening_rate"),
    ("correction rate (of originally wrong)", "correction_rate"),
    ("mean best-chain length", "mean_best_length"),
    ("mean best length, originally correct", "mean_best_length_correct"),
    ("mean chains evaluated", "mean_evaluations"),
    ("mean layer-forwards", "mean_layer_forwards"),
    ("seconds per sample, median", "median_seconds_per_sample"),
    ("seconds per sample, 90th percentile", "p90_seconds_per_sample"),
    ("seconds per try (a chain evaluation, or a draw), median", "seconds_per_try_median"),
]
PLACEBO_ROWS = [
    ("originally-wrong samples with a placebo", "n_placebo_pairs"),
    ("correction toward gold (same samples)", "paired_correction_rate"),
    ("correction toward the placebo", "placebo_correction_rate"),
    ("**genuine correction** (gold − placebo)", "genuine_correction"),
    ("McNemar exact p (gold vs placebo)", "genuine_correction_p"),
    ("share of evaluated chains picking gold (an early stop ends at the first)", "gold_pick_share"),
    ("share of evaluated chains picking the placebo", "placebo_pick_share"),
    ("gold is the full chain's runner-up (share of these samples)", "runner_up_share"),
    ("the placebo is the runner-up", "placebo_runner_up_share"),
    ("samples where both gold and the placebo were reached", "mean_first_correct_evaluation_n_both"),
    ("… mean evaluations to the first gold chain", "mean_first_correct_evaluation_gold"),
    ("… mean evaluations to the first placebo chain", "mean_first_correct_evaluation_placebo"),
    ("… mean best length toward gold", "mean_best_length_gold"),
    ("… mean best length toward the placebo", "mean_best_length_placebo"),
    ("placebo twin: extra chains computed per sample", "placebo_mean_extra_chains"),
]

SHORTENING_ROWS = [
    ("originally-correct samples with a placebo twin", "n_shortening_pairs"),
    ("mean best length keeping the gold answer", "mean_best_length_kept"),
    ("twin reached the placebo", "placebo_reached_rate"),
    ("mean best length of the placebo chains", "mean_best_length_placebo"),
    ("length gap, placebo − gold (where both were reached)", "length_gap"),
    ("sign-flip p of the length gap", "length_gap_p"),
]


def _table(summaries: dict[str, dict], rows: list, *, paper: bool) -> list[str]:
    names = list(summaries)
    header = "| metric | " + " | ".join(names) + (" | paper (CoLa) |" if paper else " |")
    lines = [header, "|---" * (len(names) + 1 + paper) + "|"]
    for label, key in rows:
        cells = [format_rate(summaries[n].get(key), summaries[n].get(f"{key}_ci")) for n in names]
        tail = (f" > {PAPER[key]:.2f} |" if key in PAPER else " |") if paper else ""
        lines.append(f"| {label} | " + " | ".join(cells) + " |" + tail)
    return lines


def budget_table(summaries: dict[str, dict]) -> list[str]:
    """Genuine correction (gold − placebo, 95% CI, McNemar p) after k chain evaluations."""
    names = [n for n in summaries if "placebo" in summaries[n]]
    lines = ["| evaluations | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    most = max((int(b) for n in names for b in summaries[n]["placebo"]["by_budget"]), default=0)
    for budget in (b for b in BUDGETS if b <= most):
        cells = []
        for name in names:
            at = summaries[name]["placebo"]["by_budget"].get(str(budget))
            if at is None:
                cells.append("– (beyond the run's budget)")
                continue
            cells.append(
                f"{format_rate(at['paired_correction_rate'])} vs {format_rate(at['placebo_correction_rate'])}: "
                f"{format_rate(at['genuine_correction'], at['genuine_correction_ci'])}, p={format_rate(at['genuine_correction_p'])}"
            )
        lines.append(f"| {budget} | " + " | ".join(cells) + " |")
    return lines


def rank_lines(summaries: dict[str, dict]) -> list[str]:
    """Genuine correction where gold is the full chain's runner-up and where it ranks lower."""
    lines = []
    for name, summary in summaries.items():
        placebo = summary.get("placebo", {})
        if "runner_up_share" not in placebo:
            continue
        parts = [
            f"gold {part['n']} samples: {format_rate(part['paired_correction_rate'])} vs placebo "
            f"{format_rate(part['placebo_correction_rate'])}, genuine {format_rate(part['genuine_correction'], part['genuine_correction_ci'])}"
            for part in (placebo["gold_runner_up"], placebo["gold_lower"])
        ]
        lines.append(
            f"- **{name}**: gold is the full chain's runner-up on {format_rate(placebo['runner_up_share'], placebo['runner_up_share_ci'])} "
            f"of the wrong samples (the placebo on {format_rate(placebo['placebo_runner_up_share'])}). Within "
            f"{placebo['rank_split_budget']} evaluations: runner-up {parts[0]}; lower-ranked {parts[1]}."
        )
    return ["By gold's rank in the full chain's scores:", "", *lines, ""] if lines else []


def _against_own_tries(records_by_run: dict[str, list[dict]]) -> list[str]:
    table = family_table(secondary_family(records_by_run))
    if not table:
        return []
    costs = [
        f"{name} {cost:.2g} s"
        for name, records in records_by_run.items()
        if (cost := seconds_per_try(records))
    ]
    return [
        "## Against the model's own tries",
        "",
        "Genuine correction (gold − placebo, per sample) of each chain search against the full chain's",
        "own tries at equal tries: `sample_matched` within 1, 5 and 10, `rank` within 1 and 2, paired on",
        "the originally-wrong samples both twins ran on; paired bootstrap interval, sign-flip p, Holm over",
        "each chain search's comparisons (bold: adjusted p < 0.05).",
        "",
        *table,
        "",
        "The cost of one try (median; a chain evaluation for a chain search, a draw for the model's own",
        f"tries, whose one full-chain evaluation every search pays too): {', '.join(costs)}.",
        "",
    ]


def _lead(summaries: dict[str, dict]) -> list[str]:
    lines = []
    for name, summary in summaries.items():
        placebo = summary.get("placebo")
        if placebo and placebo["n_placebo_pairs"]:
            lines.append(
                f"- **{name}**: genuine correction {format_rate(placebo['genuine_correction'], placebo['genuine_correction_ci'])} "
                f"(gold {format_rate(placebo['paired_correction_rate'])} vs placebo {format_rate(placebo['placebo_correction_rate'])}, "
                f"McNemar p = {format_rate(placebo['genuine_correction_p'])}, {placebo['n_placebo_pairs']} samples)"
            )
    return lines


def _shortening(summaries: dict[str, dict]) -> list[str]:
    controls = {n: s["shortening_control"] for n, s in summaries.items() if "shortening_control" in s}
    if not controls:
        return []
    intro = "Shortening against its placebo twin (originally-correct samples, the same search aimed at a wrong answer):"
    return [intro, "", *_table(controls, SHORTENING_ROWS, paper=False), ""]


def load_records(path: Path) -> list[dict]:
    """A run's records: its directory's results.jsonl, or a records file as committed under
    docs/results (``.jsonl`` or gzip-compressed ``.jsonl.gz``)."""
    if path.is_dir():
        path = path / "results.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"no search records at {path}")
    if path.suffix == ".gz":
        with gzip.open(path, "rt") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    return ResultsLog(path).records


def write_report(run_dirs: dict[str, Path], output_dir: Path, *, common: bool = False) -> Path:
    """``report.md`` comparing the runs (search name -> run directory), with plots of every run;
    with ``common``, on the samples every run holds."""
    output_dir.mkdir(parents=True, exist_ok=True)
    records_by_run = {name: load_records(Path(d)) for name, d in run_dirs.items()}
    records_by_run = {name: records for name, records in records_by_run.items() if records}
    if common and records_by_run:
        shared = set.intersection(*({r["id"] for r in records} for records in records_by_run.values()))
        records_by_run = {
            name: [r for r in records if r["id"] in shared] for name, records in records_by_run.items()
        }
    summaries = {name: summarize_search(records) for name, records in records_by_run.items()}
    plots = plot_report(records_by_run, output_dir) if records_by_run else []
    first = next(iter(summaries.values()), {})
    placebo = {n: s["placebo"] for n, s in summaries.items() if "placebo" in s}
    text = [
        f"# Chain search report: {first.get('model')} on {first.get('benchmark')} ({first.get('split')}, {first.get('mode')})",
        "",
        f"seed {first.get('seed')}; every rate with its 95% interval (Wilson; paired bootstrap for differences).",
        "",
        *(f"- machine, {name}: {describe_machine(s.get('machine'))}" for name, s in summaries.items()),
        "",
        *_lead(summaries),
        "",
        *(
            _table(placebo, PLACEBO_ROWS, paper=False)
            + [
                "",
                "Correction against the budget of chain evaluations (gold vs placebo: genuine, 95% CI, McNemar p):",
                "",
            ]
            + budget_table(summaries)
            + [""]
            + rank_lines(summaries)
            if placebo
            else []
        ),
        *_against_own_tries(records_by_run),
        *equal_margin_section(records_by_run),
        *(_shortening(summaries)),
        *_table(summaries, ROWS, paper=True),
        "",
        *paired_comparisons(records_by_run),
        "",
        "The placebo twin is the same search with the same budget and seed stream, rewarded for a",
        "wrong choice that is neither gold nor the full chain's answer. A perturbation that carries no",
        "knowledge lands on the placebo as often as on the gold answer, so only the difference is",
        "evidence of depth adaptation. Random chains are the control for the search itself.",
        "",
        *(f"![{plot.stem}]({plot.name})" for plot in plots),
        "",
        "```json",
        json.dumps(summaries, indent=2),
        "```",
    ]
    report = output_dir / "report.md"
    report.write_text("\n".join(text) + "\n")
    return report
