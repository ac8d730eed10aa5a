"""Choose search=sample_matched's temperature: draws change the full chain's answer as often as
random chains do, on a validation split.

    python scripts/studies/match_temperature.py outputs/val/random --out conf/temperatures/arc_easy-smollm2.json

The folder is a run of ``search=random search.stop.enabled=false`` on validation questions (the
early stop would end a question's chains at its first correct one). The share of its chains whose
answer differs from the full chain's is matched by the mean chance, over the same questions, that
a draw from softmax(full chain's choice scores / T) differs from the full chain's answer.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.results import load_records
from search.guesses import change_share, matched_temperature


def random_change_share(records: list[dict]) -> float:
    """The share of random chains (beyond the full one) that change the full chain's answer,
    averaged over questions."""
    shares = [
        np.mean([prediction != r["original_prediction"] for prediction in r["predictions"][1:]])
        for r in records
        if len(r["predictions"]) > 1
    ]
    return float(np.mean(shares))


def checked_records(run_dir: Path) -> list[dict]:
    try:
        records = load_records(run_dir)
    except FileNotFoundError as error:
        raise SystemExit(f"error: {error}") from None
    if not records:
        raise SystemExit(f"error: {run_dir} holds no records")
    problems = {
        "a test split (match on validation questions)": any(r["split"] == "test" for r in records),
        "another search than random": any(r["search"] != "random" for r in records),
        "records without predictions or full-chain scores (rerun with this version)": any(
            "predictions" not in r or "full_scores" not in r for r in records
        ),
        "early-stopped questions (run with search.stop.enabled=false)": any(
            r["stopped_early"] for r in records
        ),
    }
    if bad := [problem for problem, found in problems.items() if found]:
        raise SystemExit(f"error: {run_dir} has {'; '.join(bad)}")
    return records


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "run_dir", type=Path, help="a search=random run on a validation split (its folder or records file)"
    )
    parser.add_argument("--out", type=Path, required=True, help="the temperature file to write")
    args = parser.parse_args()
    records = checked_records(args.run_dir)
    target = random_change_share(records)
    scores = [r["full_scores"] for r in records]
    temperature = matched_temperature(scores, target)
    at = {t: float(np.mean([change_share(s, t) for s in scores])) for t in (1.0, temperature)}
    chosen = {
        "temperature": temperature,
        "model": records[0]["model"],
        "benchmark": records[0]["benchmark"],
        "split": records[0]["split"],
        "n_questions": len(records),
        "random_change_share": target,
        "sample_change_share": at[temperature],
        "sample_change_share_at_t1": at[1.0],
        "source": str(args.run_dir),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(chosen, indent=2) + "\n")
    print(
        f"{len(records)} {chosen['split']} questions: random chains change the full chain's answer on "
        f"{target:.3f} of chains; draws at T = {temperature:.3f} on {at[temperature]:.3f} "
        f"(at T = 1: {at[1.0]:.3f}); written to {args.out}"
    )


if __name__ == "__main__":
    main()
