"""Learn the ``learned`` search prior from a single-edit scan with the placebo twin.

The scan is ``search=greedy search.simulations=<number of single edits> search.stop.enabled=false
search.control=placebo`` on a validation split: every single edit of the full chain is evaluated
on every question, and the twin tells, on the originally-wrong ones, which edits pick the placebo.
An edit's score is (questions it sent to gold − questions it sent to the placebo) / questions:
what an edit does beyond what any perturbation does. Its rank is its place in the order a search
should try edits in to reach gold and not the placebo within few evaluations: greedily, the edit
that sends the most questions not yet sent to gold there, less those it sends to the placebo
first (an edit that only repeats what earlier ones did adds nothing). Its keep rate is the share of the
originally-correct questions whose answer it kept: what the descent search reads to remove first
the layers that matter least.
"""

from __future__ import annotations

from collections import defaultdict

from cola import parse_chain
from search import EditConfig, children, signature
from search.prior import FORMAT


def learn_edit_prior(records: list[dict], source: str) -> dict:
    paired = [r for r in records if "placebo_correct_chains" in r and not r.get("original_correct")]
    if not paired:
        raise ValueError(
            f"{source}: no originally-wrong record with a placebo twin; run the scan with search.control=placebo"
        )
    n_layers = paired[0]["n_layers"]
    full = tuple(range(n_layers))
    keys = {chain: signature(full, edit) for chain, edit in children(full, n_layers, EditConfig()).items()}
    correct = [r for r in records if r.get("original_correct")]
    totals: dict[tuple, float] = defaultdict(float)
    kept: dict[tuple, int] = defaultdict(int)
    for record in paired:
        for field, sign in (("correct_chains", 1.0), ("placebo_correct_chains", -1.0)):
            for key in single_edits(record[field], keys, n_layers):
                totals[key] += sign
    for record in correct:
        for key in single_edits(record["correct_chains"], keys, n_layers):
            kept[key] += 1
    ranks = portfolio_ranks(paired, keys, totals)
    edits = [
        {
            "kind": kind,
            "layer": layer,
            "size": size,
            "score": totals[(kind, layer, size)] / len(paired),
            "keep": kept[(kind, layer, size)] / len(correct) if correct else None,
            "rank": ranks[(kind, layer, size)],
        }
        for kind, layer, size in sorted(set(keys.values()))
    ]
    edits.sort(key=lambda edit: edit["rank"])
    return {
        "format": FORMAT,
        "source": source,
        "n_layers": n_layers,
        "n_questions": len(paired),
        "n_correct_questions": len(correct),
        "edits": edits,
    }


def single_edits(texts: list[str], keys: dict, n_layers: int) -> list[tuple]:
    """The edit signatures of the chains in ``texts`` that are single edits (the scan's chains)."""
    chains = (parse_chain(text, n_layers) for text in texts)
    return [keys[chain] for chain in chains if chain in keys]


def portfolio_ranks(paired: list[dict], keys: dict, totals: dict[tuple, float]) -> dict[tuple, int]:
    """Every edit's place in the greedy order: next is the edit with the most questions newly sent
    to gold less those newly sent to the placebo (ties: the higher score, then the edit)."""
    n_layers = paired[0]["n_layers"]
    gold = [set(single_edits(r["correct_chains"], keys, n_layers)) for r in paired]
    placebo = [set(single_edits(r["placebo_correct_chains"], keys, n_layers)) for r in paired]
    open_gold, open_placebo = set(range(len(paired))), set(range(len(paired)))
    remaining, ranks = sorted(set(keys.values())), {}
    while remaining:
        best = max(
            remaining,
            key=lambda key: (
                sum(key in gold[i] for i in open_gold) - sum(key in placebo[i] for i in open_placebo),
                totals[key],
            ),
        )
        ranks[best] = len(ranks)
        remaining.remove(best)
        open_gold.difference_update([i for i in open_gold if best in gold[i]])
        open_placebo.difference_update([i for i in open_placebo if best in placebo[i]])
    return ranks
