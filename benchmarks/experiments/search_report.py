"""Rates, tables and plots from per-sample search records (``results.jsonl``).

Definitions (CoLa, arXiv 2507.07996, Sec. 4): *shortening rate* = of the samples the full chain
answers correctly, the fraction with a correct chain shorter than L; *correction rate* = of the
samples the full chain gets wrong, the fraction with any correct chain. Everything here is
recomputed from the records, so a merged or resumed run reports exactly what its JSONL holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks.results import ResultsLog, write_json
from cola import parse_chain

PAPER = {"shortening_rate": 0.75, "correction_rate": 0.60}  # "over 75%" / "over 60%" (abstract)


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def summarize_search(records: list[dict]) -> dict:
    correct = [r for r in records if r["original_correct"]]
    wrong = [r for r in records if not r["original_correct"]]
    shortened = [r for r in correct if r["best_length"] is not None and r["best_length"] < r["n_layers"]]
    corrected = [r for r in wrong if r["best_chain"] is not None]
    best_lengths = [r["best_length"] for r in records if r["best_length"] is not None]
    first = records[0] if records else {}
    return {
        "model": first.get("model"),
        "benchmark": first.get("benchmark"),
        "split": first.get("split"),
        "mode": first.get("mode"),
        "search": first.get("search"),
        "seed": first.get("seed"),
        "n": len(records),
        "n_layers": first.get("n_layers"),
        "accuracy": len(correct) / len(records) if records else None,
        "oracle_accuracy": _mean([r["best_chain"] is not None for r in records]),
        "n_originally_correct": len(correct),
        "n_originally_wrong": len(wrong),
        "shortening_rate": len(shortened) / len(correct) if correct else None,
        "correction_rate": len(corrected) / len(wrong) if wrong else None,
        "mean_best_length": _mean(best_lengths),
        "mean_evaluations": _mean([r["n_evaluated"] for r in records]),
        "mean_layer_forwards": _mean([r["layer_forwards"] for r in records]),
        "mean_seconds_per_sample": _mean([r["seconds"] for r in records]),
        "total_seconds": float(sum(r["seconds"] for r in records)),
    }


def merge_shards(shard_dirs: list[Path], output_dir: Path) -> dict:
    """Combine shard ``results.jsonl`` files (each sample once) and summarize them together."""
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


def plot_report(records: list[dict], output_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_layers = records[0]["n_layers"]
    lengths = [r["best_length"] for r in records if r["best_length"] is not None]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(lengths, bins=np.arange(0.5, 2 * n_layers + 1.5), color="#4c72b0")
    ax.axvline(n_layers, color="black", linestyle="--", label=f"L = {n_layers}")
    ax.set(
        xlabel="best-chain length (layers run)", ylabel="samples", title="Shortest correct chain per sample"
    )
    ax.legend()
    histogram = output_dir / "best_length_hist.png"
    fig.tight_layout()
    fig.savefig(histogram, dpi=120)
    plt.close(fig)

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), gridspec_kw={"height_ratios": [1, 2.5]})
    image = top.imshow(layer_usage(records), aspect="auto", cmap="viridis", vmin=0, vmax=1)
    top.set(
        yticks=[0, 1, 2], yticklabels=["skipped", "run once", "repeated"], title="Layer usage in best chains"
    )
    fig.colorbar(image, ax=top, label="fraction of samples")
    image = bottom.imshow(step_occupancy(records), aspect="auto", cmap="magma", interpolation="nearest")
    bottom.set(xlabel="original layer", ylabel="chain step", title="Which layer runs at each step")
    fig.colorbar(image, ax=bottom, label="samples")
    heatmap = output_dir / "layer_usage.png"
    fig.tight_layout()
    fig.savefig(heatmap, dpi=120)
    plt.close(fig)
    return [histogram, heatmap]


def _fmt(value) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


ROWS = [
    ("samples", "n"),
    ("accuracy (full chain)", "accuracy"),
    ("oracle accuracy (some correct chain)", "oracle_accuracy"),
    ("shortening rate (of originally correct)", "shortening_rate"),
    ("correction rate (of originally wrong)", "correction_rate"),
    ("mean best-chain length", "mean_best_length"),
    ("mean chains evaluated", "mean_evaluations"),
    ("mean layer-forwards", "mean_layer_forwards"),
    ("seconds per sample", "mean_seconds_per_sample"),
]


def comparison_table(summaries: dict[str, dict]) -> str:
    """Markdown table, one column per search, with the paper's headline figures beside the rates."""
    names = list(summaries)
    lines = ["| metric | " + " | ".join(names) + " | paper (CoLa) |", "|---" * (len(names) + 2) + "|"]
    for label, key in ROWS:
        paper = f"> {PAPER[key]:.2f}" if key in PAPER else ""
        lines.append(
            f"| {label} | " + " | ".join(_fmt(summaries[n].get(key)) for n in names) + f" | {paper} |"
        )
    return "\n".join(lines)


def write_report(run_dirs: dict[str, Path], output_dir: Path) -> Path:
    """``report.md`` comparing the runs (search name -> run directory), with plots of the first."""
    output_dir.mkdir(parents=True, exist_ok=True)
    summaries, records_by_run = {}, {}
    for name, run_dir in run_dirs.items():
        records_by_run[name] = ResultsLog(Path(run_dir) / "results.jsonl").records
        summaries[name] = summarize_search(records_by_run[name])
    main = next(iter(run_dirs))
    plots = plot_report(records_by_run[main], output_dir) if records_by_run[main] else []
    first = summaries[main]
    text = [
        f"# Chain search report: {first['model']} on {first['benchmark']} ({first['split']}, {first['mode']})",
        "",
        comparison_table(summaries),
        "",
        "Random chains are the control: with a handful of answer options, trying many chains can",
        "'correct' a sample by chance, so a correction rate means something only above random's.",
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
