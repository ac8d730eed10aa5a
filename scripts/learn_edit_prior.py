"""Learn the search's edit prior from a single-edit scan run on a validation split.

    python scripts/run_search.py benchmark=arc_easy benchmark.split=validation search=greedy \
        search.simulations=89 search.stop.enabled=false search.control=placebo limit=100 \
        hydra.run.dir=outputs/val/scan_single_edits
    python scripts/learn_edit_prior.py outputs/val/scan_single_edits --out conf/priors/arc_easy-smollm2-val300.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.learners.edit_prior import learn_edit_prior, read_scan, scan_split


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", type=Path, help="the scan's run directory (results.jsonl inside)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    records = read_scan(args.run, "learn the prior")
    prior = learn_edit_prior(records, source=str(args.run), split=scan_split(args.run))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(prior, indent=1) + "\n")
    top = ", ".join(
        f"{e['kind']}{e['size'] if e['kind'] == 'skip' else ''}@{e['layer']} {e['score']:+.3f}"
        for e in prior["edits"][:5]
    )
    print(f"{len(prior['edits'])} edits from {prior['n_questions']} questions; top: {top}")
    print(f"prior: {args.out}")


if __name__ == "__main__":
    main()
