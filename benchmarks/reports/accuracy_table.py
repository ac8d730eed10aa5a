"""Evaluation summaries (``scripts/evaluate.py`` runs) side by side as one markdown table."""

from __future__ import annotations

from benchmarks.analysis.stats import format_rate


def accuracy_table(summaries: list[dict]) -> str:
    """Markdown table of evaluation summaries: accuracy with its interval, time and load per run."""
    lines = [
        "| model | benchmark | mode | n | acc (95% CI) | acc_norm (95% CI) | s / question (median, p90) | load (median, max) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        norm = format_rate(s.get("accuracy_norm"), s.get("accuracy_norm_ci95"))
        seconds = "{:.2f}, {:.2f}".format(*s["seconds_median_p90"])
        machine = s.get("machine")
        load = f"{machine['median_load_1m']:.1f}, {machine['max_load_1m']:.1f}" if machine else "–"
        lines.append(
            f"| {s['model']} | {s['benchmark']} | {s['mode']} | {s['n']} | "
            f"{format_rate(s['accuracy'], s['accuracy_ci95'])} | {norm} | {seconds} | {load} |"
        )
    return "\n".join(lines) + "\n"
