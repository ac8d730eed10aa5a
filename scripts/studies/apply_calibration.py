"""Answer a full-chain run's questions with a choice calibration, without another forward pass.

    python scripts/studies/apply_calibration.py outputs/policies/arc_easy-smollm2-calibration.safetensors \
        outputs/test/full-smollm2 --out outputs/test/calibration-smollm2

A calibration reads only the full chain's choice scores and lengths, so its records follow from a
full-chain ``scripts/evaluate.py`` run of the same weights: the same records ``evaluate.py
policy=<file>`` writes (tests check this), with the full chain's seconds, which the calibration's
few multiplications do not change. The output folder is a run folder like evaluate.py's.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.learners.calibration import calibrated_record, full_chain_run
from benchmarks.results import write_derived_run
from cola.choice_calibration import ChoiceCalibration
from cola.policy import policy_sha256, read_policy


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("policy", type=Path, help="a choice calibration policy file")
    parser.add_argument("full", type=Path, help="a full-chain scripts/evaluate.py run directory")
    parser.add_argument("--out", type=Path, required=True, help="the run directory to write")
    args = parser.parse_args()
    try:
        full, settings = full_chain_run(args.full)
        n_layers = settings.pop("n_layers")
        arrays, metadata = read_policy(
            args.policy, fingerprint=settings["model_fingerprint"], n_layers=n_layers
        )
        if metadata["kind"] != ChoiceCalibration.kind:
            raise ValueError(f"{args.policy} is a {metadata['kind']} policy, not a choice calibration")
        calibration = ChoiceCalibration.from_file(arrays, metadata, None)
        records = [calibrated_record(calibration, record) for record in full]
        summary = write_derived_run(
            args.out,
            settings
            | {"chain": f"policy:{ChoiceCalibration.kind}", "policy_sha256": policy_sha256(args.policy)},
            records,
        )
    except (FileNotFoundError, KeyError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
