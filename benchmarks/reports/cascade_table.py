"""A confidence cascade's tables in markdown (rows from :mod:`benchmarks.analysis.cascade`)."""

from __future__ import annotations

from benchmarks.analysis.stats import format_rate


def full_margin_markdown(rows: list[dict]) -> str:
    lines = ["| full chain's margin | n | draft agrees with it (95% CI) |", "|---|---|---|"]
    lines += [f"| {r['low']:g}–{r['high']:g} | {r['n']} | {format_rate(*r['agreement'])} |" for r in rows]
    return "\n".join(lines) + "\n"


def cascade_markdown(rows: list[dict]) -> str:
    lines = [
        "| draft margin ≥ | n | draft kept | agrees where kept (95% CI) | agrees with full chain (95% CI) "
        "| accuracy (95% CI) | mean layers | vs full chain |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['level']:g} | {row['n']} | {row['kept']:.3f} | {format_rate(*row['agrees_where_kept'])} "
            f"| {format_rate(*row['agreement'])} | {format_rate(*row['accuracy'])} "
            f"| {row['mean_layers']:.2f} | {row['mean_layers'] / row['full_layers']:.2f}× |"
        )
    return "\n".join(lines) + "\n"
