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

from benchmarks.learners.matched_temperature import temperature_choice
from benchmarks.results import load_records


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "run_dir", type=Path, help="a search=random run on a validation split (its folder or records file)"
    )
    parser.add_argument("--out", type=Path, required=True, help="the temperature file to write")
    args = parser.parse_args()
    try:
        chosen = temperature_choice(load_records(args.run_dir), str(args.run_dir))
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(chosen, indent=2) + "\n")
    temperature = chosen["temperature"]
    print(
        f"{chosen['n_questions']} {chosen['split']} questions: random chains change the full chain's answer on "
        f"{chosen['random_change_share']:.3f} of chains; draws at T = {temperature:.3f} on "
        f"{chosen['sample_change_share']:.3f} (at T = 1: {chosen['sample_change_share_at_t1']:.3f}); "
        f"written to {args.out}"
    )


if __name__ == "__main__":
    main()
