"""Router vs full chain vs static chain vs oracle on a held-out split, written as a table.

Resumable: per-sample rows (features and library labels) are appended to JSONL as they are
computed, and the static chain is saved once found, so an interrupted study picks up there.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks.experiments.router import (
    ChainRouter,
    chain_library,
    comparison_row,
    evaluate_chains,
    find_static_chain,
    prompt_feature,
    table_markdown,
)
from benchmarks.results import ResultsLog, write_json
from benchmarks.tasks import TaskConfig, build_queries, load_examples
from cola import ChainModel, format_chain, parse_chain
from cola.engine import EngineConfig
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


def _rows(
    log_path: Path, chain_model, tokenizer, queries, chains, study, engine, progress, desc
) -> dict[str, dict]:
    log = ResultsLog(log_path)
    todo = [query for query in queries if query.example_id not in log]
    for query in tqdm(todo, disable=not progress, desc=desc):
        labels = evaluate_chains(chain_model, tokenizer, [query], chains, engine)[0]
        feature = prompt_feature(chain_model, query, layers=study.feature_layers)
        log.append({"id": query.example_id, "labels": labels.tolist(), "feature": feature.tolist()})
    return {record["id"]: record for record in log.records}


def run_router_study(
    chain_model: ChainModel,
    tokenizer,
    task: TaskConfig,
    study: RouterStudy,
    engine: EngineConfig,
    output_dir: str | Path,
    *,
    progress: bool = False,
) -> dict:
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    train_records = ResultsLog(Path(study.train_run) / "results.jsonl").records
    if not train_records:
        raise FileNotFoundError(f"no search results in {study.train_run}/results.jsonl")
    library = chain_library(train_records, size=study.library_size)
    train_task = TaskConfig(**{**asdict(task), "split": train_records[0]["split"]})
    wanted = {record["id"] for record in train_records}
    train_queries = build_queries(
        [e for e in load_examples(train_task) if e.id in wanted], tokenizer, train_task
    )

    static_path = output_dir / "static_chain.json"
    if not static_path.is_file():
        chain, reward, full_reward = find_static_chain(
            chain_model,
            tokenizer,
            train_queries[: study.static_samples],
            simulations=study.static_simulations,
            seed=study.seed,
            engine=engine,
        )
        write_json(
            static_path,
            {"chain": format_chain(chain), "train_reward": reward, "full_train_reward": full_reward},
        )
    static_info = json.loads(static_path.read_text())
    static = parse_chain(static_info["chain"], chain_model.n_layers)
    chains = [*library, static]

    train_rows = _rows(
        output_dir / "train_rows.jsonl",
        chain_model,
        tokenizer,
        train_queries,
        chains,
        study,
        engine,
        progress,
        "train",
    )
    test_task = TaskConfig(**{**asdict(task), "split": study.test_split})
    test_queries = build_queries(load_examples(test_task, limit=study.n_test), tokenizer, test_task)
    test_rows = _rows(
        output_dir / "test_rows.jsonl",
        chain_model,
        tokenizer,
        test_queries,
        chains,
        study,
        engine,
        progress,
        "test",
    )

    train_ids = [q.example_id for q in train_queries]
    router = ChainRouter(
        library=library,
        features=np.array([train_rows[i]["feature"] for i in train_ids]),
        labels=np.array([train_rows[i]["labels"][: len(library)] for i in train_ids]),
        neighbors=study.neighbors,
    )
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
    result = {
        "study": asdict(study),
        "library": [format_chain(chain) for chain in library],
        "static_chain": static_info,
        "table": table,
        "routed_counts": {chain: routed.count(chain) for chain in sorted(set(routed))},
    }
    write_json(output_dir / "router.json", result)
    (output_dir / "router_table.md").write_text(table_markdown(table) + "\n")
    return result
