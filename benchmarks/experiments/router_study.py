"""Router vs full chain vs static chain vs oracle on a held-out split, written as a table.

Resumable: per-sample rows (features and library labels) are appended to JSONL as they are
computed, and the static chain is saved once found, so an interrupted study picks up there.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks.experiments.router import (
    chain_library,
    comparison_row,
    evaluate_chains,
    find_static_chain,
    prompt_feature,
    table_markdown,
)
from benchmarks.results import ResultsLog, claim_run_dir, write_json
from benchmarks.tasks import TaskConfig, build_queries, load_examples
from cola import ChainModel, format_chain, parse_chain
from cola.engine import EngineConfig
from cola.policy import KnnRouter, save_policy
from search import CORRECT

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RouterStudy:
    train_run: str  # a scripts/run_search.py run directory on the training split
    test_split: str = "test"
    n_test: int = 200
    library_size: int = 8
    neighbors: int = 10
    feature_layers: int = 4
    static_samples: int = 30
    static_simulations: int = 60
    seed: int = 0


@dataclass(frozen=True)
class StudySetup:
    """What every stage of a study needs: the model, the settings and where rows are logged."""

    chain_model: ChainModel
    tokenizer: object
    study: RouterStudy
    engine: EngineConfig
    output_dir: Path
    progress: bool


def _rows(setup: StudySetup, name: str, queries: list, chains: list) -> dict[str, dict]:
    """Per-sample library labels and prompt features, logged to ``{name}_rows.jsonl`` as computed."""
    log = ResultsLog(setup.output_dir / f"{name}_rows.jsonl")
    todo = [query for query in queries if query.example_id not in log]
    for query in tqdm(todo, disable=not setup.progress, desc=name):
        labels = evaluate_chains(setup.chain_model, setup.tokenizer, [query], chains, setup.engine)[0]
        feature = prompt_feature(setup.chain_model, query, layers=setup.study.feature_layers)
        log.append({"id": query.example_id, "labels": labels.tolist(), "feature": feature.tolist()})
    return {record["id"]: record for record in log.records}


def _static_chain(setup: StudySetup, train_queries: list) -> dict:
    """The static chain searched on the first training samples; found once, then read back."""
    path = setup.output_dir / "static_chain.json"
    if not path.is_file():
        chain, reward, full_reward = find_static_chain(
            setup.chain_model,
            setup.tokenizer,
            train_queries[: setup.study.static_samples],
            simulations=setup.study.static_simulations,
            seed=setup.study.seed,
            engine=setup.engine,
        )
        info = {"chain": format_chain(chain), "train_reward": reward, "full_train_reward": full_reward}
        write_json(path, info)
    return json.loads(path.read_text())


def _policy_table(router: KnnRouter, static: tuple, test_queries: list, test_rows: dict) -> tuple[list, list]:
    """Each policy's (correct, chain length) per test sample, as comparison rows; the routed chains."""
    library = router.library
    policies = {"full chain": [], "static chain": [], "router": [], "oracle (library)": []}
    routed = []
    for query in test_queries:
        row = test_rows[query.example_id]
        labels = row["labels"]
        choice = router.route(np.array(row["feature"]))
        routed.append(format_chain(library[choice]))
        correct_library = [k for k in range(len(library)) if labels[k] > CORRECT]
        oracle = min(correct_library, key=lambda k: len(library[k])) if correct_library else 0
        policies["full chain"].append((labels[0] > CORRECT, len(library[0])))
        policies["static chain"].append((labels[-1] > CORRECT, len(static)))
        policies["router"].append((labels[choice] > CORRECT, len(library[choice])))
        policies["oracle (library)"].append((bool(correct_library), len(library[oracle])))
    table = [
        comparison_row(name, [c for c, _ in rows], [n for _, n in rows]) for name, rows in policies.items()
    ]
    return table, routed


def _train_queries(task: TaskConfig, train_records: list[dict], tokenizer) -> list:
    train_task = replace(task, split=train_records[0]["split"])
    wanted = {record["id"] for record in train_records}
    return build_queries([e for e in load_examples(train_task) if e.id in wanted], tokenizer, train_task)


def run_router_study(
    chain_model: ChainModel,
    tokenizer,
    task: TaskConfig,
    study: RouterStudy,
    engine: EngineConfig,
    output_dir: str | Path,
    *,
    model_fingerprint: str | None = None,
    progress: bool = False,
) -> dict:
    setup = StudySetup(chain_model, tokenizer, study, engine, Path(output_dir), progress)
    settings = {"model_fingerprint": model_fingerprint, "task": asdict(task), "study": asdict(study)}
    claim_run_dir(setup.output_dir, settings)
    train_records = ResultsLog(Path(study.train_run) / "results.jsonl").records
    if not train_records:
        raise FileNotFoundError(f"no search results in {study.train_run}/results.jsonl")
    library = chain_library(train_records, size=study.library_size)
    train_queries = _train_queries(task, train_records, tokenizer)
    static_info = _static_chain(setup, train_queries)
    static = parse_chain(static_info["chain"], chain_model.n_layers)
    chains = [*library, static]
    train_rows = _rows(setup, "train", train_queries, chains)
    test_task = replace(task, split=study.test_split)
    test_queries = build_queries(load_examples(test_task, limit=study.n_test), tokenizer, test_task)
    test_rows = _rows(setup, "test", test_queries, chains)
    train_ids = [q.example_id for q in train_queries]
    router = KnnRouter(
        library=library,
        features=np.array([train_rows[i]["feature"] for i in train_ids]),
        labels=np.array([train_rows[i]["labels"][: len(library)] for i in train_ids]),
        neighbors=study.neighbors,
        feature_layers=study.feature_layers,
    )
    if model_fingerprint is not None:
        save_policy(
            router,
            setup.output_dir / "router.safetensors",
            fingerprint=model_fingerprint,
            n_layers=chain_model.n_layers,
            trained_toward="gold",
        )
    table, routed = _policy_table(router, static, test_queries, test_rows)
    result = {
        "study": asdict(study),
        "library": [format_chain(chain) for chain in library],
        "static_chain": static_info,
        "table": table,
        "routed_counts": {chain: routed.count(chain) for chain in sorted(set(routed))},
    }
    write_json(setup.output_dir / "router.json", result)
    (setup.output_dir / "router_table.md").write_text(table_markdown(table) + "\n")
    return result
