"""The ensemble of an evaluated ensemble's first m chains, from its records, without a forward pass.

    python scripts/studies/sub_ensemble.py outputs/test/top8-smollm2 --size 4 --out outputs/test/top4-smollm2

Top-m and random ensembles nest: the first m chains of ``build_ensemble.py --size 8`` are its
``--size m`` ensemble (same seed for random ones). Each record of a ``scripts/evaluate.py
policy=<ensemble>`` run keeps every member's choice scores, so one run of the largest ensemble
gives every smaller one. Seconds are left out (null): the members' shared prefixes cannot be
apportioned; an m-chain ensemble costs about m chains' passes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.results import SETTINGS_FILE, load_records, write_derived_run
from benchmarks.runs.ensemble_scores import sub_ensemble_record


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("ensemble", type=Path, help="an evaluate.py run of a chain ensemble policy")
    parser.add_argument("--size", type=int, required=True, help="keep the first SIZE chains")
    parser.add_argument("--out", type=Path, required=True, help="the run directory to write")
    args = parser.parse_args()
    try:
        settings = json.loads((args.ensemble / SETTINGS_FILE).read_text())
        if settings.get("chain") != "policy:chain_ensemble":
            raise ValueError(f"{args.ensemble} is not an evaluate.py run of a chain ensemble")
        records = [sub_ensemble_record(record, args.size) for record in load_records(args.ensemble)]
        summary = write_derived_run(args.out, settings | {"first_members": args.size}, records)
    except (FileNotFoundError, KeyError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
