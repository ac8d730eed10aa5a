"""Build a chain ensemble policy: the top m chains of a static-chain race's library by training
accuracy, or m random chains at the same cost.

    python scripts/build_ensemble.py outputs/static_chain/arc_easy-loglikelihood-smollm2-gold-seed0 --size 4 --out top4.safetensors
    python scripts/build_ensemble.py outputs/static_chain/... --size 4 --random --seed 0 --out random4.safetensors

The library is every chain the race scored on all of its screening questions (the first
``race.screen_questions`` training questions, which every step's screen reads); the run's settings
give the weights the ensemble is bound to. Evaluate it with scripts/evaluate.py policy=<file>.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.learners.ensemble import race_library, random_ensemble, top_chains
from benchmarks.learners.split_scores import OutcomeStore
from benchmarks.learners.static_chain import StaticChainStudy, training_examples
from benchmarks.results import SETTINGS_FILE
from benchmarks.tasks import TaskConfig
from cola import format_chain
from cola.chain import parse_stored_chain
from cola.policy import save_policy
from search import EditConfig
from search.static_chain import RaceConfig


def race_settings(run_dir: Path) -> tuple[dict, TaskConfig, StaticChainStudy]:
    path = run_dir / SETTINGS_FILE
    if not path.is_file():
        raise SystemExit(f"error: {run_dir} is not a scripts/learn_static_chain.py run (no {SETTINGS_FILE})")
    settings = json.loads(path.read_text())
    study = dict(settings["study"])
    race = dict(study.pop("race"))
    race["edits"] = EditConfig(**race["edits"])
    return settings, TaskConfig(**settings["task"]), StaticChainStudy(race=RaceConfig(**race), **study)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("race", type=Path, help="a scripts/learn_static_chain.py run directory")
    parser.add_argument("--size", type=int, required=True, help="chains in the ensemble (m)")
    parser.add_argument("--random", action="store_true", help="m random chains instead of the top m")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random chains")
    parser.add_argument("--out", type=Path, required=True, help="the policy file to write (.safetensors)")
    args = parser.parse_args()
    settings, task, study = race_settings(args.race)
    n_layers = len(parse_stored_chain(settings["start"]))
    if args.random:
        ensemble = random_ensemble(n_layers, args.size, args.seed)
        accuracy = {}
    else:
        questions = [e.id for e in training_examples(task, study, study.race.screen_questions)]
        accuracy = race_library(OutcomeStore(args.race / "outcomes.jsonl"), n_layers, questions)
        try:
            ensemble = top_chains(accuracy, args.size)
        except ValueError as error:
            raise SystemExit(f"error: {error}") from None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_policy(
        ensemble,
        args.out,
        fingerprint=settings["model_fingerprint"],
        n_layers=n_layers,
        trained_toward="gold",
    )
    print(json.dumps({format_chain(chain): accuracy.get(chain) for chain in ensemble.chains}, indent=2))


if __name__ == "__main__":
    main()
