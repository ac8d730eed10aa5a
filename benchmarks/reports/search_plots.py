"""Plots of search records: best-chain lengths, layer usage, correction against evaluations spent.

Every run a report compares is drawn, labelled by its name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.analysis.reach import first_evaluations, twin_ran, wrong_with_twin
from cola import parse_chain


def layer_usage(records: list[dict]) -> np.ndarray:
    """(3, L) fractions of best chains in which each layer is skipped / run once / repeated."""
    best = [r for r in records if r["best_chain"]]
    n_layers = records[0]["n_layers"]
    usage = np.zeros((3, n_layers))
    for record in best:
        counts = np.bincount(parse_chain(record["best_chain"], n_layers), minlength=n_layers)
        usage[0] += counts == 0
        usage[1] += counts == 1
        usage[2] += counts >= 2
    return usage / max(len(best), 1)


def step_occupancy(records: list[dict]) -> np.ndarray:
    """(max steps, L) counts: which original layer runs at each chain step, over best chains."""
    n_layers = records[0]["n_layers"]
    chains = [parse_chain(r["best_chain"], n_layers) for r in records if r["best_chain"]]
    grid = np.zeros((max((len(c) for c in chains), default=1), n_layers))
    for chain in chains:
        for step, layer in enumerate(chain):
            grid[step, layer] += 1
    return grid


def correction_curve(records: list[dict], budgets: np.ndarray, prefix: str = "") -> np.ndarray | None:
    """Share of originally-wrong samples (with a placebo, for either target) corrected within each
    budget of evaluations; None when the records hold no evaluation counts."""
    wrong = [r for r in records if not r["original_correct"]]
    if prefix or any(twin_ran(r) for r in wrong):
        wrong = wrong_with_twin(records)
    if not wrong or any(f"{prefix}first_correct_evaluation" not in r for r in wrong):
        return None
    firsts = first_evaluations(wrong, prefix)
    return (firsts[None, :] <= budgets[:, None]).mean(axis=1)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    _pyplot().close(fig)
    return path


def plot_lengths(records_by_run: dict[str, list[dict]], output_dir: Path) -> Path:
    plt = _pyplot()
    n_layers = next(iter(records_by_run.values()))[0]["n_layers"]
    lengths = {
        name: [r["best_length"] for r in rs if r["best_length"] is not None]
        for name, rs in records_by_run.items()
    }
    every = [n for values in lengths.values() for n in values] + [n_layers]
    bins = np.arange(min(every) - 0.5, max(every) + 1.5)  # the axis spans the data, not 2L
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    ax.hist(list(lengths.values()), bins=bins, label=list(lengths), histtype="bar")
    ax.axvline(n_layers, color="black", linestyle="--", label=f"L = {n_layers}")
    ax.set(
        xlabel="best-chain length (layers run)", ylabel="samples", title="Shortest correct chain per sample"
    )
    ax.legend()
    return _save(fig, output_dir / "best_length_hist.png")


def plot_layer_usage(name: str, records: list[dict], output_dir: Path) -> Path:
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), gridspec_kw={"height_ratios": [1, 2.5]})
    image = top.imshow(layer_usage(records), aspect="auto", cmap="viridis", vmin=0, vmax=1)
    top.set(
        yticks=[0, 1, 2],
        yticklabels=["skipped", "run once", "repeated"],
        title=f"{name + ': ' if name else ''}layer usage in best chains",
    )
    fig.colorbar(image, ax=top, label="fraction of samples")
    image = bottom.imshow(step_occupancy(records), aspect="auto", cmap="magma", interpolation="nearest")
    bottom.set(xlabel="original layer", ylabel="chain step", title="Which layer runs at each step")
    fig.colorbar(image, ax=bottom, label="samples")
    return _save(fig, output_dir / (f"layer_usage-{name}.png" if name else "layer_usage.png"))


def plot_correction_curves(records_by_run: dict[str, list[dict]], output_dir: Path) -> Path | None:
    """Correction toward gold (solid) and the placebo (dashed) against evaluations spent."""
    plt = _pyplot()
    most = max((r["n_evaluated"] for rs in records_by_run.values() for r in rs), default=1)
    budgets = np.arange(0, most + 1)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    drawn = False
    for index, (name, records) in enumerate(records_by_run.items()):
        color = f"C{index}"
        spent = budgets[: max(r["n_evaluated"] for r in records)]  # a run's curve ends at its budget
        for prefix, style, target in (("", "-", "gold"), ("placebo_", "--", "placebo")):
            curve = correction_curve(records, spent, prefix)
            if curve is not None:
                ax.step(spent, curve, where="post", color=color, linestyle=style, label=f"{name} → {target}")
                drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.set(
        xlabel="chain evaluations spent",
        ylabel="share of originally-wrong samples",
        ylim=(0, 1.02),
        title="Correction against budget",
    )
    ax.set_xscale("symlog", linthresh=10)
    ax.legend(fontsize=8)
    return _save(fig, output_dir / "correction_by_budget.png")


def plot_report(records_by_run: dict[str, list[dict]], output_dir: Path) -> list[Path]:
    plots = [plot_lengths(records_by_run, output_dir)]
    curves = plot_correction_curves(records_by_run, output_dir)
    plots += [curves] if curves else []
    single = len(records_by_run) == 1
    plots += [
        plot_layer_usage("" if single else name, rs, output_dir)
        for name, rs in records_by_run.items()
        if any(
            r["best_chain"] and r["best_length"] != r["n_layers"] for r in rs
        )  # chains beyond the full one
    ]
    return plots
