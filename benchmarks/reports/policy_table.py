"""The policy table in markdown: one row per policy from :mod:`benchmarks.analysis.policy_gains`,
on the whole split and on rows 500 and later side by side."""

from __future__ import annotations

from benchmarks.analysis.policy_gains import Comparison, pooled_rows, sliced_rows
from benchmarks.analysis.stats import (
    format_p,
    format_rate,
    median_p90,
)
from benchmarks.machine import summarize_machine


def _difference(comparison: Comparison | None, adjusted: float | None = None) -> str:
    if comparison is None:
        return "–"
    low, high = comparison.interval
    p = format_p(comparison.p)
    text = f"{comparison.difference:+.3f} ({low:+.3f}–{high:+.3f}), p {p if p.startswith('<') else '= ' + p}"
    if adjusted is not None:
        text += f", Holm {format_p(adjusted)}"
        if adjusted < 0.05:
            text = f"**{text}**"
    return text


def _seconds(median_p90: list[float] | None) -> str:
    return "–" if median_p90 is None else f"{median_p90[0]:.2f}, {median_p90[1]:.2f}"


def policy_markdown(rows: list[dict], *, full: str, rival: str | None) -> str:
    lines = [
        f"| policy | n | accuracy (95% CI) | agrees with {full} (95% CI) | − {full} (95% CI, McNemar p) | "
        f"− {rival or 'rival'} | mean layers | s / question (median, p90) | load (median) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        machine = row["machine"]
        load = f"{machine['median_load_1m']:.1f}" if machine else "–"
        lines.append(
            f"| {row['policy']} | {row['n']} | {format_rate(row['accuracy'], row['accuracy_ci95'])} | "
            f"{format_rate(*row['agreement']) if row['agreement'] else '–'} | {_difference(row['vs_full'], row.get('vs_full_holm'))} | {_difference(row['vs_rival'], row.get('vs_rival_holm'))} | "
            f"{row['mean_layers']:.2f} | {_seconds(row['seconds_median_p90'])} | "
            f"{load} |"
        )
    return "\n".join(lines) + "\n"


def sliced_markdown(runs: dict[str, list[dict]], *, full: str, rival: str | None) -> str:
    """The table on every row the runs share and again on rows 500 and later, each with its own Holm."""
    return rows_markdown(sliced_rows(runs, full=full, rival=rival), full=full, rival=rival)


def rows_markdown(sliced: dict[str, list[dict]], *, full: str, rival: str | None) -> str:
    """:func:`sliced_markdown` from rows already computed (their statistics written beside)."""
    return "\n".join(
        f"**{name}**\n\n" + policy_markdown(rows, full=full, rival=rival) for name, rows in sliced.items()
    )


def recording_cost(records: list[dict]) -> str:
    """Every method above is read from one recording pass per question (all its exits, DoLa's
    variants and the neutral premise): its seconds, which bound each method's own cost."""
    seconds = median_p90([r["seconds"] for r in records if r.get("seconds") is not None])
    machine = summarize_machine(records)
    if seconds is None:
        return ""
    load = f", load median {machine['median_load_1m']:.1f} on {machine['cpus']} CPUs" if machine else ""
    return (
        f"\nEvery method is read from one recording pass per question (every exit, DoLa's variants, "
        f"the neutral premise): {seconds[0]:.2f} s a question median, p90 {seconds[1]:.2f}{load}.\n"
    )


def pooled_markdown(cells: dict[str, tuple[list[dict], list[dict]]]) -> str:
    """One policy against another, cell by cell (model x split) and pooled over the cells (clustered
    by question, stratified by the cells holding it), on the whole split, rows 0-499 and rows 500+."""
    lines = [
        "| rows | cell | n | up / down | difference | p |",
        "|---|---|---|---|---|---|",
    ]
    for slice_name, found in pooled_rows(cells).items():
        for name, row in found["cells"].items():
            lines.append(
                f"| {slice_name} | {name} | {row['n']} | {row['up']} / {row['down']} | {row['difference']:+.3f} | "
                f"{format_p(row['p'])} (exact McNemar) |"
            )
        pooled = found["pooled"]
        low, high = pooled["difference_ci"]
        lines.append(
            f"| {slice_name} | **pooled** ({pooled['n_questions']} questions) | {pooled['n_pairs']} | "
            f"{pooled['up']} / {pooled['down']} | **{pooled['difference']:+.3f} ({low:+.3f}–{high:+.3f})** | "
            f"{format_p(pooled['p'], pooled['resamples'])} (question sign flips) |"
        )
    return "\n".join(lines) + "\n"
