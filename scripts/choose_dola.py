"""Choose DoLa's premature layer on validation exit records and save it as a policy file.

    python scripts/studies/record_exits.py --split validation --out outputs/exits/smollm2/arc_easy-validation
    python scripts/choose_dola.py outputs/exits/smollm2/arc_easy-validation --out dola.safetensors [--variant high]

Prints every variant's validation accuracy beside the full chain's; saves the best static layer
(or ``--variant``: ``static-L``, ``low``, ``high``) as a ``dola`` policy that scripts/evaluate.py and
scripts/generate.py take (``policy=dola.safetensors``). Never give it test records.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.analysis.stats import format_rate, rate
from benchmarks.learners.dola_choice import best_static, chosen_policy, variant_accuracy
from benchmarks.results import load_records
from benchmarks.runs.session import exit_on_user_error
from cola.policy import save_policy


def parser() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    options.add_argument("run", type=Path, help="an exit run on a validation split (record_exits.py)")
    options.add_argument("--out", type=Path, required=True, help="the DoLa policy file to write")
    options.add_argument(
        "--variant", default=None, help="static-L, low or high (default: the best static layer)"
    )
    return options


@exit_on_user_error
def main(args: argparse.Namespace) -> None:
    settings = json.loads((args.run / "run_settings.json").read_text())
    if settings["task"]["split"] == "test":
        raise ValueError(f"{args.run} is a test-split run: choose DoLa's layer on validation")
    records = load_records(args.run)
    accuracy = variant_accuracy(records)
    full = [int(np.argmax(r["exit_scores"][r["exits"].index(r["n_layers"])])) == r["gold"] for r in records]
    print(
        f"| variant | accuracy on {len(records)} {settings['task']['split']} questions (95% CI) |\n|---|---|"
    )
    print(f"| full chain | {format_rate(*rate(full))} |")
    for name in accuracy:
        hits = [int(np.argmax(r["dola_scores"][name])) == r["gold"] for r in records]
        print(f"| {name} | {format_rate(*rate(hits))} |")
    name = args.variant or best_static(accuracy)
    policy = chosen_policy(name, records)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_policy(
        policy,
        args.out,
        fingerprint=settings["run"]["model_fingerprint"],
        n_layers=records[0]["n_layers"],
        trained_toward=f"validation accuracy ({settings['task']['benchmark']})",
    )
    print(f"DoLa {name} (layers {list(policy.layers)}) -> {args.out}")


if __name__ == "__main__":
    main(parser().parse_args())
