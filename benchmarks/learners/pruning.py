"""Layer pruning by the field's rules: which layers to drop, learned from unlabelled text (or, for
the keep-rate order, from a validation scan), saved as a static-chain policy.

Block Influence and angular distance read the full chain's hidden states on the context of
unlabelled training questions (no answer is shown or read); reverse order reads nothing.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from benchmarks.queries import context_ids
from benchmarks.tasks import TaskConfig, build_query, load_examples
from cola import ChainModel
from cola.layer_stats import LayerStats
from search.chain_sets import keep_order
from search.prior import load_keep_prior
from search.pruning import RULES, check_size, closest_block, lowest_influence, reverse_order

TEXT_RULES = ("block_influence", "angular")  # the rules that read text


def measure_layers(
    chain_model: ChainModel,
    tokenizer,
    task: TaskConfig,
    sizes: list[int],
    *,
    texts: int,
    progress: bool = False,
) -> LayerStats:
    """Layer statistics over the contexts of the first ``texts`` questions of ``task``'s train split."""
    stats = LayerStats(chain_model.n_layers, sizes)
    examples = load_examples(replace(task, split="train"), limit=texts)
    for example in tqdm(examples, disable=not progress, desc="layer statistics"):
        ids = context_ids(build_query(example, tokenizer, replace(task, split="train")))
        stats.add(chain_model, ids.to(chain_model.device))
    return stats


def single_skip_keep_rates(path: str, n_layers: int) -> dict[tuple, float]:
    """``("skip", layer, 1) -> keep rate`` from an edit prior with keep rates (a validation scan) or
    from a static race's ``path.json`` (its screen of single skips on training questions: the share
    whose answer each skip kept, read without the answer key)."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"keep-rate file not found: {path}")
    found = json.loads(file.read_text())
    if "single_keep_rates" not in found:
        return load_keep_prior(path, n_layers)
    rates = found["single_keep_rates"]
    if len(rates) != n_layers:
        raise ValueError(f"{path} screens {len(rates)} layers; the model has {n_layers}")
    return {("skip", layer, 1): float(rate) for layer, rate in enumerate(rates)}


def removed_layers(
    rule: str, n: int, n_layers: int, *, stats: LayerStats | None = None, prior_file: str | None = None
) -> list[int]:
    """The layers ``rule`` removes to drop ``n``."""
    check_size(n, n_layers)
    if rule not in RULES:
        raise ValueError(f"unknown pruning rule {rule!r}; choose from {', '.join(RULES)}")
    if rule in TEXT_RULES and stats is None:
        raise ValueError(f"the {rule} rule reads layer statistics: measure them first")
    if rule == "block_influence":
        return lowest_influence(stats.block_influence().tolist(), n)
    if rule == "angular":
        return closest_block(stats.angular_distance(n).tolist(), n)
    if rule == "keep_rate":
        if prior_file is None:
            raise ValueError(
                "the keep_rate rule reads single-skip keep rates: give an edit prior with keep rates "
                "or a static race's path.json"
            )
        return sorted(keep_order(single_skip_keep_rates(prior_file, n_layers), n_layers)[:n])
    return reverse_order(n_layers, n, keep_final=rule == "reverse_keep_final")
