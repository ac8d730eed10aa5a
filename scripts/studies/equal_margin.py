"""The calibrated equal-margin test on a descent run and a random run of the same test questions,
by row slice (development rows 0-499 and rows 500+), and its calibration by simulation.

    python scripts/studies/equal_margin.py --out docs/results/equal_margin/smollm2 --label SmolLM2 \
        descent=docs/results/own_tries/smollm2/records/descent.jsonl.gz \
        random=docs/results/own_tries/smollm2/records/random.jsonl.gz --simulate 200

Writes ``effects.json`` (and, with ``--simulate``, ``calibration.json``) and ``report.md`` into
``--out``; a calibration written by an earlier ``--simulate`` run stays in the report.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.analysis.equal_margin.fit import BOOTSTRAP_RESAMPLES
from benchmarks.analysis.equal_margin.study import (
    calibration,
    calibration_table,
    effects,
    effects_table,
    null_coverage,
)
from benchmarks.analysis.fresh_rows import by_slice
from benchmarks.results import load_records, write_json
from benchmarks.runs.session import named_value


def named_paths(text: str) -> tuple[str, list[Path]]:
    form = "descent=PATH[,PATH] or random=PATH[,PATH]"
    name, paths = named_value(text, form)
    if name not in ("descent", "random"):
        raise argparse.ArgumentTypeError(f"expected {form}, got {text!r}")
    return name, [Path(path) for path in paths.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "runs",
        nargs=2,
        type=named_paths,
        help="descent=PATH[,PATH] random=PATH[,PATH] (run folders or records files, joined)",
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--label", required=True, help="the model's name in the report")
    parser.add_argument("--resamples", type=int, default=BOOTSTRAP_RESAMPLES)
    parser.add_argument("--simulate", type=int, default=0, help="synthetic data sets per setting (0: none)")
    parser.add_argument(
        "--sim-resamples", type=int, default=400, help="bootstrap resamples per synthetic data set"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    runs = dict(args.runs)
    if set(runs) != {"descent", "random"}:
        parser.error("give one descent= and one random= run")
    args.out.mkdir(parents=True, exist_ok=True)
    records = {
        name: [record for path in paths for record in load_records(path)] for name, paths in runs.items()
    }
    slices = {name: by_slice(run) for name, run in records.items()}
    results = {
        part: effects(slices["descent"][part], slices["random"][part], resamples=args.resamples)
        for part in slices["descent"]
        if slices["descent"][part]  # random may still be partial there: each reading says its questions
    }
    lines = [f"# The calibrated equal-margin test: {args.label}", ""]
    for part, result in results.items():
        n = len(slices["descent"][part])
        lines += effects_table(
            f"{part} ({n} questions searched by descent, {len(slices['random'][part])} by random)", result
        )
    if args.simulate:
        development = {name: parts["rows 0–499"] for name, parts in slices.items()}
        simulated = calibration(
            development["descent"],
            development["random"],
            datasets=args.simulate,
            resamples=args.sim_resamples,
            seed=args.seed,
        )
        write_json(args.out / "calibration.json", simulated | {"questions": "rows 0–499"})
    summary = {}
    if (args.out / "calibration.json").is_file():  # kept from an earlier --simulate run
        simulated = json.loads((args.out / "calibration.json").read_text())
        lines += ["## Calibration by simulation (rows 0–499's questions)", "", *calibration_table(simulated)]
        summary = {"null coverage": null_coverage(simulated)}
    write_json(
        args.out / "effects.json",
        {
            "resamples": args.resamples,
            "runs": {k: [str(p) for p in v] for k, v in runs.items()},
            "slices": results,
        }
        | summary,
    )
    (args.out / "report.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
