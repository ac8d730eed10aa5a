"""Write the unsteered-depth report (table and plot) from records of scripts/studies/unsteered_depth.py.

    python scripts/studies/report_unsteered.py --out docs/results/faithful/unsteered \
        SmolLM2=docs/results/faithful/unsteered/smollm2-arc_easy.jsonl.gz \
        "Gemma 3 270M=docs/results/faithful/unsteered/gemma3_270m-arc_easy.jsonl.gz"

Each NAME=PATH is a run folder or a records file (.jsonl or .jsonl.gz). Writes report.md, depth.png
and statistics.json (every figure of the table, which the README's row is rendered from).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.analysis.stats import median_p90
from benchmarks.machine import describe_machine, summarize_machine
from benchmarks.reports.unsteered_report import depth_plot, depth_statistics, depth_table
from benchmarks.results import load_records
from benchmarks.runs.session import named_path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", type=named_path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    records = {name: load_records(path) for name, path in args.runs}
    plot = depth_plot(records, args.out / "depth.png")
    lines = ["# Depth on unsteered chain sets", "", depth_table(records)]
    for name, rs in records.items():
        median, p90 = median_p90([r["seconds"] for r in rs])
        lines.append(
            f"- {name}: {median:.1f} s a question (median; p90 {p90:.1f}); {describe_machine(summarize_machine(rs))}"
        )
    lines += ["", f"![share of inputs met within L layers]({plot.name})", ""]
    (args.out / "report.md").write_text("\n".join(lines))
    statistics = depth_statistics(records) | {"records": {name: str(path) for name, path in args.runs}}
    (args.out / "statistics.json").write_text(json.dumps(statistics, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
