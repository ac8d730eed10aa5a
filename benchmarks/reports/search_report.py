"""The search report (``report.md``): tables and plots of runs side by side, from their records
(the rates themselves are :mod:`benchmarks.analysis.search_summary`'s)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.analysis.search_compare import BUDGETS, family_table, paired_comparisons, secondary_family
from benchmarks.analysis.search_summary import PAPER, seconds_per_try, summarize_search
from benchmarks.analysis.stats import BOOTSTRAP_RESAMPLES, format_p, format_rate
from benchmarks.machine import describe_machine
from benchmarks.reports.equal_margin_report import equal_margin_section
from benchmarks.reports.faithful_report import is_faithful, write_faithful_report
from benchmarks.reports.search_plots import plot_report
from benchmarks.results import load_records

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


def _cell(summary: dict, key: str) -> str:
    if key == "length_gap_p":  # sign flips, at the resolution of their draws
        return format_p(summary.get(key), BOOTSTRAP_RESAMPLES)
    if key.endswith("_p"):  # exact McNemar
        return format_p(summary.get(key))
    return format_rate(summary.get(key), summary.get(f"{key}_ci"))


def _table(summaries: dict[str, dict], rows: list, *, paper: bool) -> list[str]:
    names = list(summaries)
    header = "| metric | " + " | ".join(names) + (" | paper (CoLa) |" if paper else " |")
    lines = [header, "|---" * (len(names) + 1 + paper) + "|"]
    for label, key in rows:
        cells = [_cell(summaries[n], key) for n in names]
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
                f"{format_rate(at['genuine_correction'], at['genuine_correction_ci'])}, p={format_p(at['genuine_correction_p'])}"
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
                f"McNemar p = {format_p(placebo['genuine_correction_p'])}, {placebo['n_placebo_pairs']} samples)"
            )
    return lines


def _shortening(summaries: dict[str, dict]) -> list[str]:
    controls = {n: s["shortening_control"] for n, s in summaries.items() if "shortening_control" in s}
    if not controls:
        return []
    intro = "Shortening against its placebo twin (originally-correct samples, the same search aimed at a wrong answer):"
    return [intro, "", *_table(controls, SHORTENING_ROWS, paper=False), ""]


def load_runs(run_dirs: dict[str, Path], *, common: bool) -> dict[str, list[dict]]:
    """Each run's records (runs without any left out); with ``common``, on the samples all hold."""
    records_by_run = {name: load_records(Path(d)) for name, d in run_dirs.items()}
    records_by_run = {name: records for name, records in records_by_run.items() if records}
    if common and records_by_run:
        shared = set.intersection(*({r["id"] for r in records} for records in records_by_run.values()))
        records_by_run = {name: [r for r in rs if r["id"] in shared] for name, rs in records_by_run.items()}
    return records_by_run


def write_report(run_dirs: dict[str, Path], output_dir: Path, *, common: bool = False) -> Path:
    """``report.md`` comparing the runs (search name -> run directory), with plots of every run;
    with ``common``, on the samples every run holds."""
    output_dir.mkdir(parents=True, exist_ok=True)
    records_by_run = load_runs(run_dirs, common=common)
    if any(is_faithful(records) for records in records_by_run.values()):
        if not all(is_faithful(records) for records in records_by_run.values()):
            raise ValueError("faithful runs measure depth, the others gold: report them apart")
        return write_faithful_report(records_by_run, output_dir)
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
