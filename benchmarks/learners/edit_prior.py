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

import json
from collections import Counter
from pathlib import Path

from benchmarks.analysis.reach import wrong_with_twin
from benchmarks.results import load_records
from cola import parse_chain
from search import EditConfig, children, signature
from search.prior import FORMAT


def read_scan(run: Path, purpose: str) -> list[dict]:
    """A single-edit scan's records (a run directory, or a committed records file with its
    ``.run_settings.json`` beside it), refused when missing or run on a test split (``purpose``
    names what the caller would do with them, for the error)."""
    results = run if run.is_file() else run / "results.jsonl"
    if not results.is_file():
        raise SystemExit(f"error: no results.jsonl in {run}")
    if scan_split(run) == "test":
        raise SystemExit(f"error: {purpose} on a validation (or train) split, never on test")
    return load_records(results)


def scan_split(run: Path) -> str:
    """The split a scan was run on (its run directory's ``run_settings.json``, or the settings file
    committed beside its records)."""
    if run.is_file():
        settings = run.with_name(run.name.removesuffix(".gz").removesuffix(".jsonl") + ".run_settings.json")
    else:
        settings = run / "run_settings.json"
    return json.loads(settings.read_text())["task"]["split"]


def single_edit_signatures(n_layers: int) -> dict[tuple, tuple]:
    """Each single edit of the full chain (the scan's chains) -> its signature (kind, layer, size)."""
    full = tuple(range(n_layers))
    return {chain: signature(full, edit) for chain, edit in children(full, n_layers, EditConfig()).items()}


def learn_edit_prior(records: list[dict], source: str, *, split: str | None = None) -> dict:
    """The prior file's content from a scan's records; ``source`` and ``split`` say where they came
    from (a prior learned on a test split is refused when loaded)."""
    paired = wrong_with_twin(records)
    if not paired:
        raise ValueError(
            f"{source}: no originally-wrong record with a placebo twin; run the scan with search.control=placebo"
        )
    n_layers = paired[0]["n_layers"]
    keys = single_edit_signatures(n_layers)
    correct = [r for r in records if r.get("original_correct")]
    gold = [single_edits(r["correct_chains"], keys, n_layers) for r in paired]
    placebo = [single_edits(r["placebo_correct_chains"], keys, n_layers) for r in paired]
    totals = Counter(key for edits in gold for key in edits)
    totals.subtract(key for edits in placebo for key in edits)
    kept = Counter(key for r in correct for key in single_edits(r["correct_chains"], keys, n_layers))
    all_edits = sorted(set(keys.values()))
    ranks = portfolio_ranks(all_edits, gold, placebo, totals)
    edits = [
        {
            "kind": kind,
            "layer": layer,
            "size": size,
            "score": totals[(kind, layer, size)] / len(paired),
            "keep": kept[(kind, layer, size)] / len(correct) if correct else None,
            "rank": ranks[(kind, layer, size)],
        }
        for kind, layer, size in all_edits
    ]
    edits.sort(key=lambda edit: edit["rank"])
    return {
        "format": FORMAT,
        "source": source,
        "split": split,
        "n_layers": n_layers,
        "n_questions": len(paired),
        "n_correct_questions": len(correct),
        "edits": edits,
    }


def single_edits(texts: list[str], keys: dict, n_layers: int) -> set[tuple]:
    """The edit signatures of the chains in ``texts`` that are single edits (the scan's chains)."""
    chains = (parse_chain(text, n_layers) for text in texts)
    return {keys[chain] for chain in chains if chain in keys}


def portfolio_ranks(
    edits: list[tuple], gold: list[set], placebo: list[set], totals: Counter
) -> dict[tuple, int]:
    """Each of ``edits``' place in the greedy order: next is the edit with the most questions newly sent
    to gold (``gold[i]``: the edits that sent question i there) less those newly sent to the
    placebo (ties: the higher score, then the edit)."""
    open_gold, open_placebo = set(range(len(gold))), set(range(len(placebo)))
    remaining, ranks = list(edits), {}
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
