"""The report of faithful searches (``search.reward=faithful``): the depth each input needs to
reproduce the full chain, against its reach control, by right and wrong inputs, as a table and a
histogram."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks.analysis.faithful_summary import BOUNDS, BUDGETS, TOKENS, depth_at, summarize_faithful
from benchmarks.analysis.stats import BOOTSTRAP_RESAMPLES, format_p, paired_bootstrap_interval, sign_flip_p
from benchmarks.faithful import REACH_MIN_CHOICES, kl_divergence, reach_reference
from benchmarks.machine import describe_machine
from benchmarks.reports.search_plots import _pyplot, _save
from search.guesses import choice_distribution


def is_faithful(records: list[dict]) -> bool:
    return bool(records) and all("kls" in r or "agreements" in r for r in records)


def needed_depth(record: dict, prefix: str = "") -> int:
    """The shortest faithful chain's length, or the full chain's when none was found."""
    return record[f"{prefix}best_length"] or record["n_layers"]


def reach_comparison(records: list[dict]) -> dict | None:
    """Faithful depth minus reach depth on the questions the reach control ran, paired."""
    paired = [r for r in records if "reach_best_length" in r]
    if not paired:
        return None
    faithful = [needed_depth(r) for r in paired]
    reach = [needed_depth(r, "reach_") for r in paired]
    return {
        "n": len(paired),
        "difference": float(np.mean(faithful) - np.mean(reach)),
        "ci95": paired_bootstrap_interval(faithful, reach),
        "p": sign_flip_p(faithful, reach),
    }


def reach_target_kl(record: dict) -> float | None:
    """KL(full || reach target) in nats: how far the reach control's aim lies from the faithful one
    (softmax of the full chain's recorded scores, the `acc` metric's). Within a bound, a chain that
    reproduces the full chain nearly reproduces the reach target too, and the control tells little."""
    scores = record.get("full_scores")
    target = record.get("reach_target", "least_likely")  # records before the setting: the default
    if "reach_best_length" not in record or not scores or len(scores) < REACH_MIN_CHOICES[target]:
        return None
    full = choice_distribution(scores, 1.0)
    return kl_divergence(full, reach_reference(full, target, int(np.argmax(full)))[0])


def reach_target_distance(records: list[dict]) -> dict | None:
    """KL(full || reach target) over a run's inputs: its 10%, median and 90% quantiles (nats) and
    the share of inputs within each bound."""
    kls = np.array([kl for kl in map(reach_target_kl, records) if kl is not None])
    if not len(kls):
        return None
    low, median, high = (float(q) for q in np.quantile(kls, [0.1, 0.5, 0.9]))
    return {
        "n": len(kls),
        "median": median,
        "p10": low,
        "p90": high,
        "within": {str(bound): float(np.mean(kls <= bound)) for bound in BOUNDS},
    }


def reach_target_line(name: str, records: list[dict]) -> str | None:
    distance = reach_target_distance(records)
    if distance is None:
        return None
    low, median, high = distance["p10"], distance["median"], distance["p90"]
    within = ", ".join(f"{share:.2f} within {bound}" for bound, share in distance["within"].items())
    targets = sorted({r.get("reach_target", "least_likely") for r in records if "reach_best_length" in r})
    return (
        f"- reach target ({', '.join(targets)}) distance from the full chain's distribution, {name}: KL(full ‖ target) "
        f"median {median:.3f} nats (10–90% {low:.3f}–{high:.3f}); {within}"
    )


def depth_cell(summary: dict | None) -> str:
    if summary is None:
        return "–"
    q = summary["quantiles"]
    interval = (
        "no interval from one input"
        if summary["mean_ci95"] is None
        else "{:.2f}–{:.2f}".format(*summary["mean_ci95"])
    )
    return (
        f"{summary['mean']:.2f} ({interval}); median {q['0.5']:.0f}, "
        f"10–90% {q['0.1']:.0f}–{q['0.9']:.0f}; shortened {summary['shortened']:.3f} (n = {summary['n']})"
    )


def faithful_markdown(records_by_run: dict[str, list[dict]]) -> str:
    lines = [
        "Layers needed per input: the shortest chain found that reproduces the full chain (its answer, and "
        "its choice distribution within the KL bound or its first tokens), else the full chain; mean (95% CI), "
        "quantiles and the share of inputs shortened.",
        "",
        "| run | all inputs | right inputs | wrong inputs | reach control | faithful − reach (paired, 95% CI, p) |",
        "|---|---|---|---|---|---|",
    ]
    for name, records in records_by_run.items():
        summary = summarize_faithful(records)
        reach = reach_comparison(records)
        paired = "–"
        if reach is not None:
            low, high = reach["ci95"]
            paired = (
                f"{reach['difference']:+.2f} ({low:+.2f}–{high:+.2f}), p {_p(reach['p'])}, n = {reach['n']}"
            )
        lines.append(
            f"| {name} | {depth_cell(summary['faithful'])} | {depth_cell(summary['faithful_right'])} | "
            f"{depth_cell(summary['faithful_wrong'])} | {depth_cell(summary['reach'])} | {paired} |"
        )
    lines += [
        "",
        *(
            f"- machine, {name}: {describe_machine(summarize_faithful(rs)['machine'])}"
            for name, rs in records_by_run.items()
        ),
        *filter(None, (reach_target_line(name, rs) for name, rs in records_by_run.items())),
    ]
    return "\n".join(lines) + "\n"


def _mean_depth(records: list[dict], prefix: str = "", **criterion) -> float | None:
    depths = [depth_at(r, prefix=prefix, **criterion) for r in records if f"{prefix}lengths" in r]
    if not depths or None in depths:
        return None
    return float(np.mean(depths))


def _grid_axes(with_lengths: list[dict]) -> tuple[list[tuple[str, float | int | None]], list[int | None]]:
    """The grid's criteria (KL bounds, or first-t answer tokens for generation) and the budgets the
    run's recorded evaluations reach."""
    generation = "agreements" in with_lengths[0]
    criteria = [("tokens", t) for t in TOKENS] if generation else [("bound", b) for b in BOUNDS]
    budgets = [b for b in BUDGETS if b <= max(len(r["lengths"]) for r in with_lengths)] or [None]
    return criteria, budgets


def depth_grid(records: list[dict]) -> dict:
    """Mean layers needed, faithful and reach control, by criterion and budget (the grid's figures)."""
    with_lengths = [r for r in records if "lengths" in r]
    if not with_lengths:
        return {}
    criteria, budgets = _grid_axes(with_lengths)
    return {
        f"{key} {'all' if value is None else value}": {
            f"within {budget or 'all'}": {
                "faithful": _mean_depth(with_lengths, budget=budget, **{key: value}),
                "reach": _mean_depth(with_lengths, "reach_", budget=budget, **{key: value}),
            }
            for budget in budgets
        }
        for key, value in criteria
    }


def _depth_text(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def depth_grid_markdown(name: str, records: list[dict]) -> str:
    """Mean layers needed at each tighter bound (or first-t tokens) within each budget, read from
    one run's recorded KLs or agreeing prefixes; the reach control's beside, after the slash."""
    with_lengths = [r for r in records if "lengths" in r]
    if not with_lengths:
        return ""
    generation = "agreements" in with_lengths[0]
    criteria, budgets = _grid_axes(with_lengths)
    lines = [
        f"Mean layers needed, {name} (n = {len(with_lengths)}): faithful / reach control, by "
        f"{'first answer tokens' if generation else 'KL bound (nats)'} and budget (evaluations).",
        "",
        "| "
        + ("tokens" if generation else "bound")
        + " | "
        + " | ".join(f"within {b or 'all'}" for b in budgets)
        + " |",
        "|---|" + "---|" * len(budgets),
    ]
    for key, value in criteria:
        cells = [
            f"{_depth_text(_mean_depth(with_lengths, budget=b, **{key: value}))} / "
            f"{_depth_text(_mean_depth(with_lengths, 'reach_', budget=b, **{key: value}))}"
            for b in budgets
        ]
        lines.append(f"| {'all' if value is None else value} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_depths(records_by_run: dict[str, list[dict]], output_dir: Path) -> Path:
    plt = _pyplot()
    n_layers = next(iter(records_by_run.values()))[0]["n_layers"]
    depths = {name: [needed_depth(r) for r in records] for name, records in records_by_run.items()}
    for name, records in records_by_run.items():
        reach = [needed_depth(r, "reach_") for r in records if "reach_best_length" in r]
        if reach:
            depths[f"{name} (reach)"] = reach
    bins = np.arange(0.5, n_layers + 1.5)
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    ax.hist(list(depths.values()), bins=bins, label=list(depths), histtype="bar")
    ax.set(xlabel="layers needed (shortest faithful chain)", ylabel="inputs", title="Depth each input needs")
    ax.legend()
    return _save(fig, output_dir / "depth_hist.png")


def write_faithful_report(records_by_run: dict[str, list[dict]], output_dir: Path) -> Path:
    output_dir.mkdir(parents=True, exist_ok=True)
    plot_depths(records_by_run, output_dir)
    first = next(iter(records_by_run.values()))[0]
    title = (
        f"# Faithful depth: {first['model']} on {first['benchmark']} ({first['split']}, {first['mode']})\n\n"
    )
    path = output_dir / "report.md"
    grids = "".join("\n" + depth_grid_markdown(name, records) for name, records in records_by_run.items())
    statistics = {
        name: {
            "summary": summarize_faithful(records),
            "reach_target_kl": reach_target_distance(records),
            "faithful_minus_reach": reach_comparison(records),
            "depth_grid": depth_grid(records),
        }
        for name, records in records_by_run.items()
    }
    path.write_text(
        title
        + faithful_markdown(records_by_run)
        + grids
        + "\n![depth](depth_hist.png)\n\nThe figures above (`scripts/report.py` writes them from the records):\n\n```json\n"
        + json.dumps(statistics, indent=2)
        + "\n```\n"
    )
    return path


def _p(p: float) -> str:
    text = format_p(p, BOOTSTRAP_RESAMPLES)
    return text if text.startswith(("≤", "<")) else f"= {text}"
