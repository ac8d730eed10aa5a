"""Unsteered depth into a table and a plot: for each KL bound and chain set, the median layers the
full chain's own output and the reach target need, and the share of inputs met within L layers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.analysis.unsteered_depth import BOUNDS, TARGETS, depth_curve

CHAIN_SETS = {"removal path": ("path",), "random removals": ("random",), "both": ("path", "random")}


def _median(curve: dict, n_layers: int) -> str:
    return (
        f"> {n_layers - 1}"
        if curve["median"] is None or curve["median"] >= n_layers
        else str(curve["median"])
    )


def depth_rows(name: str, records: list[dict]) -> list[str]:
    n_layers = records[0]["n_layers"]
    half = n_layers // 2
    rows = []
    for bound in BOUNDS:
        for set_name, kinds in CHAIN_SETS.items():
            curves = {target: depth_curve(records, target, bound, kinds) for target in TARGETS}
            cells = [
                f"{_median(curves[t], n_layers)} · {curves[t]['within'][n_layers - 2]:.3f} · {curves[t]['within'][half - 1]:.3f}"
                for t in TARGETS
            ]
            rows.append(f"| {name} ({len(records)}) | {bound} | {set_name} | {cells[0]} | {cells[1]} |")
    return rows


def depth_statistics(records_by_model: dict[str, list[dict]]) -> dict:
    """Every figure of the table, per model, KL bound, chain set and target: the median layers
    needed (None: beyond the full chain), the share met by a shorter chain and within half the
    layers, and the share met within L layers for every L; per chain set, the largest gap between
    the two targets' shares up to half depth; per model, the chains each input got."""
    found = {}
    for name, records in records_by_model.items():
        n_layers = records[0]["n_layers"]
        chains = [sum(kind != "full" for kind in record["kinds"]) for record in records]
        by_bound = found.setdefault(
            name,
            {"inputs": len(records), "n_layers": n_layers, "chains_per_input": int(np.median(chains))},
        )
        for bound in BOUNDS:
            for set_name, kinds in CHAIN_SETS.items():
                within = {t: depth_curve(records, t, bound, kinds)["within"] for t in TARGETS}
                # how far apart the two targets' curves come up to half depth: near zero, a
                # shallow chain that meets the model's own output would meet any target as often
                by_bound.setdefault(str(bound), {}).setdefault(set_name, {})["largest_gap_within_half"] = max(
                    abs(a - b) for a, b in zip(*(within[t][: n_layers // 2] for t in TARGETS), strict=True)
                )
                for target in TARGETS:
                    curve = depth_curve(records, target, bound, kinds)
                    median = (
                        curve["median"]
                        if curve["median"] is not None and curve["median"] < n_layers
                        else None
                    )
                    by_bound.setdefault(str(bound), {}).setdefault(set_name, {})[target] = {
                        "median_layers": median,
                        "shorter": curve["within"][n_layers - 2],
                        "within_half": curve["within"][n_layers // 2 - 1],
                        "within": list(curve["within"]),
                    }
    return found


def depth_table(records_by_model: dict[str, list[dict]]) -> str:
    lines = [
        "Each cell: median layers needed · share of inputs met by a chain shorter than the full one · "
        "share met within half the layers (a target no chain meets is censored at full depth).",
        "",
        "| model (inputs) | KL bound (nats) | chain set | the full chain's own output | reach target (runner-up swapped) |",
        "|---|---|---|---|---|",
    ]
    for name, records in records_by_model.items():
        lines += depth_rows(name, records)
    return "\n".join(lines) + "\n"


def depth_plot(records_by_model: dict[str, list[dict]], out: Path) -> Path:
    """Share met within L layers against L, per model (rows) and bound (columns), both targets on
    both chain sets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(
        len(records_by_model),
        len(BOUNDS),
        figsize=(4 * len(BOUNDS), 3.2 * len(records_by_model)),
        squeeze=False,
    )
    for row, (name, records) in enumerate(records_by_model.items()):
        layers = list(range(1, records[0]["n_layers"] + 1))
        for column, bound in enumerate(BOUNDS):
            axis = axes[row][column]
            for target, color in zip(TARGETS, ("tab:blue", "tab:red"), strict=True):
                for set_name, style in (("removal path", "-"), ("random removals", ":")):
                    curve = depth_curve(records, target, bound, CHAIN_SETS[set_name])
                    axis.plot(layers, curve["within"], style, color=color, label=f"{target}, {set_name}")
            axis.set_title(f"{name}, KL ≤ {bound}")
            axis.set_xlabel("layers")
            axis.set_ylabel("share of inputs met")
    axes[0][0].legend(fontsize=7)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return out
