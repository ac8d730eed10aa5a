"""Fit the full chain's choice calibration (the output-side rival of chain policies) on training
records, choose its ridge on validation records, and save it as a cola policy file.

    python scripts/calibrate.py outputs/full/arc_easy-train outputs/full/arc_easy-validation \
        --out policies/arc_easy-smollm2-calibration.safetensors

Both folders are ``scripts/evaluate.py`` runs of the full chain in loglikelihood mode (records with
choice scores and lengths), of the same weights and benchmark, on the train and validation splits.
The policy then runs through ``scripts/evaluate.py policy=<file>``; no forward pass is made here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.learners.calibration import choice_data, fit_on_validation, full_chain_run
from benchmarks.results import recorded_path
from cola.choice_calibration import CHOICE_FEATURES
from cola.policy import save_policy


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("train", type=Path, help="full-chain evaluate.py run on the train split")
    parser.add_argument("validation", type=Path, help="the same on the validation split")
    parser.add_argument("--out", type=Path, required=True, help="the policy file to write (.safetensors)")
    args = parser.parse_args()
    try:
        train, train_settings = full_chain_run(args.train, "train")
        validation, validation_settings = full_chain_run(args.validation, "validation")
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    for key in ("model_fingerprint", "n_layers"):
        if train_settings[key] != validation_settings[key]:
            raise SystemExit(f"error: the two runs differ in {key}")
    if train_settings["task"]["benchmark"] != validation_settings["task"]["benchmark"]:
        raise SystemExit("error: the two runs are of different benchmarks")
    calibration, ridge, by_ridge = fit_on_validation(choice_data(train), choice_data(validation))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_policy(
        calibration,
        args.out,
        fingerprint=train_settings["model_fingerprint"],
        n_layers=train_settings["n_layers"],
        trained_toward="gold",
    )
    summary = {
        "train": {"run": recorded_path(args.train), "n": len(train)},
        "validation": {
            "run": recorded_path(args.validation),
            "n": len(validation),
            "accuracy": sum(r["correct"] for r in validation) / len(validation),
            "accuracy_norm": sum(r.get("correct_norm", False) for r in validation) / len(validation),
            "calibrated_by_ridge": by_ridge,
        },
        "ridge": ridge,
        "weights": dict(zip(CHOICE_FEATURES, calibration.weights.tolist(), strict=True)),
        "policy": recorded_path(args.out),
    }
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
