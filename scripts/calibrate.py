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

from benchmarks.experiments.calibration import choice_data, fit_on_validation
from benchmarks.experiments.search_summary import load_records
from benchmarks.results import SETTINGS_FILE
from cola import parse_chain
from cola.policy import CHOICE_FEATURES, save_policy

ANY_DEPTH = 100_000  # parse a stored chain before the model's depth is known


def full_chain_run(run_dir: Path, split: str) -> tuple[list[dict], dict]:
    """The records and settings of a full-chain evaluation of ``split``, or an error naming what differs."""
    settings_file = run_dir / SETTINGS_FILE
    if not settings_file.is_file():
        raise SystemExit(f"error: {run_dir} is not a scripts/evaluate.py run (no {SETTINGS_FILE})")
    settings = json.loads(settings_file.read_text())
    records = load_records(run_dir)
    if not records:
        raise SystemExit(f"error: {run_dir} holds no records")
    # The full chain of an L-layer model is 0..L-1 in order: its length is the model's depth.
    chain = () if settings["chain"].startswith("policy:") else parse_chain(settings["chain"], ANY_DEPTH)
    n_layers = len(chain)
    problems = {
        f"split {settings['task']['split']!r}, not {split!r}": settings["task"]["split"] != split,
        "a chain other than the full one, or a policy": not chain or chain != tuple(range(n_layers)),
        "not loglikelihood mode": settings["task"]["mode"] != "loglikelihood",
    }
    if bad := [problem for problem, found in problems.items() if found]:
        raise SystemExit(f"error: {run_dir} has {'; '.join(bad)}")
    return records, settings | {"n_layers": n_layers}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("train", type=Path, help="full-chain evaluate.py run on the train split")
    parser.add_argument("validation", type=Path, help="the same on the validation split")
    parser.add_argument("--out", type=Path, required=True, help="the policy file to write (.safetensors)")
    args = parser.parse_args()
    train, train_settings = full_chain_run(args.train, "train")
    validation, validation_settings = full_chain_run(args.validation, "validation")
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
        "train": {"run": str(args.train), "n": len(train)},
        "validation": {
            "run": str(args.validation),
            "n": len(validation),
            "accuracy": sum(r["correct"] for r in validation) / len(validation),
            "accuracy_norm": sum(r.get("correct_norm", False) for r in validation) / len(validation),
            "calibrated_by_ridge": by_ridge,
        },
        "ridge": ridge,
        "weights": dict(zip(CHOICE_FEATURES, calibration.weights.tolist(), strict=True)),
        "policy": str(args.out),
    }
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
