"""Train a :class:`cola.block_router.BlockRouter` from search runs on a training split.

Supervision: each training question's target chain, read from its search record: the search's
best chain (ties go to the fewest distinct layers, then to the chain found first, as every search
reports ``best_chain``), or the full chain where no chain was rewarded. ``target=gold`` reads a
search rewarded for gold (its shortest chain picking gold); ``target=faithful`` one run with
``search.reward=faithful`` (its shortest chain reproducing the full chain's answer). The context
is walked through the blocks with the target's decisions forced (teacher forcing), so each block's
MLP learns from the features it would see on the target's path. The loss is cross-entropy weighted
per block and class by inverse class frequency (a class absent from a block's targets gets no
weight), so "execute", the usual answer, does not drown the rest. Trained full-batch with AdamW on
the CPU.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from benchmarks.queries import context_ids
from benchmarks.results import SETTINGS_FILE, claim_run_dir, load_records, recorded_path, write_json
from benchmarks.tasks import TaskConfig, build_queries, load_examples
from cola import Chain, ChainModel, full_chain, parse_chain
from cola.block_router import DECISIONS, Block, BlockRouter, block_decisions, layer_blocks, walk_blocks
from cola.policy import save_policy

TARGETS = ("gold", "faithful")  # what the training run's search rewarded


@dataclass(frozen=True)
class RouterTraining:
    target: str = "gold"
    block_size: int = 1
    hidden: int = 64
    epochs: int = 300
    learning_rate: float = 1e-2
    weight_decay: float = 1e-3
    seed: int = 0

    def __post_init__(self):
        if self.target not in TARGETS:
            raise ValueError(f"unknown router target {self.target!r}; choose from {', '.join(TARGETS)}")


def target_chain(record: dict) -> Chain:
    """A training question's target: its search's best chain, else the full chain."""
    n_layers = record["n_layers"]
    return parse_chain(record["best_chain"], n_layers) if record.get("best_chain") else full_chain(n_layers)


def check_target(train_run: Path, target: str) -> None:
    """Refuse a run whose search rewarded something else than ``target``."""
    settings_file = train_run / SETTINGS_FILE
    if not settings_file.is_file():
        raise FileNotFoundError(f"{train_run} has no {SETTINGS_FILE}: not a scripts/run_search.py run")
    reward = json.loads(settings_file.read_text())["search"]["reward"]
    if (reward == "faithful") != (target == "faithful"):
        raise ValueError(
            f"training.target={target} needs a search run rewarding it; {train_run} used reward={reward}"
        )


def teacher_features(
    chain_model, context_ids: torch.Tensor, decisions: list[int], blocks: list[Block]
) -> np.ndarray:
    """(K, H) features before each block on the path of ``decisions``."""
    _, features = walk_blocks(chain_model, context_ids, blocks, lambda index, feature: decisions[index])
    return features


def class_weights(decisions: np.ndarray) -> np.ndarray:
    """(K, 3) inverse-frequency weights per block, averaging 1 over a block's samples."""
    counts = np.stack([(decisions == c).sum(axis=0) for c in range(len(DECISIONS))], axis=1).astype(float)
    present = (counts > 0).sum(axis=1, keepdims=True)
    return np.where(counts > 0, len(decisions) / np.maximum(present * counts, 1), 0.0)


def fit_block_router(
    features: np.ndarray, decisions: np.ndarray, blocks: list[Block], training: RouterTraining
) -> BlockRouter:
    """Per-block MLPs fit on ``features`` (N, K, H) to ``decisions`` (N, K)."""
    torch.manual_seed(training.seed)
    mean = features.mean(axis=0)
    scale = np.where(features.std(axis=0) > 1e-6, features.std(axis=0), 1.0)
    x = torch.tensor((features - mean) / scale, dtype=torch.float32).transpose(0, 1)  # (K, N, H)
    y = torch.tensor(decisions.T, dtype=torch.long)  # (K, N)
    weights = torch.tensor(class_weights(decisions), dtype=torch.float32)  # (K, 3)
    blocks_count, _, width = x.shape
    w1 = torch.nn.Parameter(torch.randn(blocks_count, width, training.hidden) / width**0.5)
    b1 = torch.nn.Parameter(torch.zeros(blocks_count, training.hidden))
    w2 = torch.nn.Parameter(torch.randn(blocks_count, training.hidden, len(DECISIONS)) / training.hidden**0.5)
    b2 = torch.nn.Parameter(torch.zeros(blocks_count, len(DECISIONS)))
    optimizer = torch.optim.AdamW(
        [w1, b1, w2, b2], lr=training.learning_rate, weight_decay=training.weight_decay
    )
    sample_weights = torch.gather(weights, 1, y)  # (K, N)
    for _ in range(training.epochs):
        optimizer.zero_grad()
        logits = torch.relu(x @ w1 + b1[:, None]) @ w2 + b2[:, None]  # (K, N, 3)
        losses = torch.nn.functional.cross_entropy(
            logits.reshape(-1, len(DECISIONS)), y.reshape(-1), reduction="none"
        )
        loss = (losses * sample_weights.reshape(-1)).sum() / sample_weights.sum()
        loss.backward()
        optimizer.step()
    arrays = [tensor.detach().numpy() for tensor in (w1, b1, w2, b2)]
    return BlockRouter(blocks, mean, scale, *arrays)


def training_set(chain_model, queries: list, records: dict[str, dict], blocks: list[Block]):
    """(features (N, K, H), decisions (N, K), ids kept, ids dropped: targets no block decisions make)."""
    features, decisions, kept, dropped = [], [], [], []
    for query in queries:
        path = block_decisions(target_chain(records[query.example_id]), blocks)
        if path is None:
            dropped.append(query.example_id)
            continue
        features.append(teacher_features(chain_model, context_ids(query), path, blocks))
        decisions.append(path)
        kept.append(query.example_id)
    return np.stack(features), np.array(decisions), kept, dropped


def train_block_router_policy(
    chain_model: ChainModel,
    tokenizer,
    task: TaskConfig,
    train_run: str | Path,
    training: RouterTraining,
    output_dir: str | Path,
    *,
    model_fingerprint: str,
) -> dict:
    """Fit the router on a search run's training questions; write ``block_router.safetensors``."""
    output_dir, train_run = Path(output_dir), Path(train_run)
    check_target(train_run, training.target)
    records = {record["id"]: record for record in load_records(train_run)}
    if not records:
        raise ValueError(f"no search records in {train_run}")
    splits = {record["split"] for record in records.values()}
    if splits & {"test"}:
        raise ValueError(
            f"{train_run} searched test questions; a router learns on train and validation splits only"
        )
    claim_run_dir(
        output_dir,
        {
            "model_fingerprint": model_fingerprint,
            "task": asdict(task),
            "training": asdict(training),
            "train_run": str(train_run),
        },
    )
    split_task = replace(task, split=splits.pop())
    examples = [example for example in load_examples(split_task) if example.id in records]
    queries = build_queries(examples, tokenizer, split_task)
    blocks = layer_blocks(chain_model.n_layers, training.block_size)
    features, decisions, kept, dropped = training_set(chain_model, queries, records, blocks)
    router = fit_block_router(features, decisions, blocks, training)
    predicted = np.array(
        [[router.decide(k, features[n, k]) for k in range(len(blocks))] for n in range(len(kept))]
    )
    save_policy(
        router,
        output_dir / "block_router.safetensors",
        fingerprint=model_fingerprint,
        n_layers=chain_model.n_layers,
        trained_toward=training.target,
    )
    summary = {
        "questions": len(kept),
        "dropped": dropped,
        "decision_shares": {name: float((decisions == code).mean()) for code, name in enumerate(DECISIONS)},
        "train_decision_agreement": float((predicted == decisions).mean()),
        "train_chain_agreement": float((predicted == decisions).all(axis=1).mean()),
        "policy": recorded_path(output_dir / "block_router.safetensors"),
    }
    write_json(output_dir / "training.json", summary)
    return summary
