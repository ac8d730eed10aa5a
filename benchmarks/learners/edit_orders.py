"""Which order to try the full chain's single edits in, judged on a validation scan alone: learn
a prior on part of the questions, count genuine correction on the held-out rest.

The scan is the one ``scripts/learn_edit_prior.py`` reads (every single edit on every question,
with the placebo twin), so no model runs here: within k evaluations an order reaches gold on a
held-out question when one of its first k edits is among the question's gold-picking chains.
"""

from __future__ import annotations

import numpy as np

from benchmarks.analysis.reach import wrong_with_twin
from benchmarks.learners.edit_prior import learn_edit_prior, single_edit_signatures
from cola import parse_chain

ORDERS = {
    "keep": lambda edit: -edit["keep"],  # the gentlest edit first (search=descent)
    "rank": lambda edit: edit["rank"],  # the greedy portfolio (prior=learned, files with ranks)
    "score": lambda edit: -edit["score"],  # gold minus placebo per edit (prior=learned, older files)
}


def genuine_within(order: list[tuple], records: list[dict], budget: int) -> float:
    """Share of ``records`` whose gold some of the first ``budget`` edits picks, less the placebo's:
    what a search trying single edits in this ``order`` would have reached within ``budget``,
    read from a scan of every single edit (not a search record's first reaching evaluation)."""
    n_layers = records[0]["n_layers"]
    tried = set(order[:budget])

    def reached(record: dict, field: str) -> bool:
        return any(parse_chain(text, n_layers) in tried for text in record[field])

    return float(
        np.mean([reached(r, "correct_chains") - reached(r, "placebo_correct_chains") for r in records])
    )


def compare_orders(records: list[dict], budgets: tuple[int, ...], splits: int, seed: int) -> dict:
    """Mean held-out genuine correction per order and budget over ``splits`` random 2:1 splits."""
    chain_of = {key: chain for chain, key in single_edit_signatures(records[0]["n_layers"]).items()}
    rng = np.random.default_rng(seed)
    totals: dict[str, dict[int, list[float]]] = {
        name: {b: [] for b in budgets} for name in [*ORDERS, "random"]
    }
    for _ in range(splits):
        shuffled = rng.permutation(len(records))
        cut = 2 * len(records) // 3
        learned = learn_edit_prior([records[i] for i in shuffled[:cut]], source="split")["edits"]
        held_out = wrong_with_twin([records[i] for i in shuffled[cut:]])
        orders = {name: sorted(learned, key=key) for name, key in ORDERS.items()}
        orders["random"] = [learned[i] for i in rng.permutation(len(learned))]
        for name, edits in orders.items():
            chains = [chain_of[(e["kind"], e["layer"], e["size"])] for e in edits]
            for budget in budgets:
                totals[name][budget].append(genuine_within(chains, held_out, budget))
    return {name: {b: float(np.mean(v)) for b, v in by_budget.items()} for name, by_budget in totals.items()}
