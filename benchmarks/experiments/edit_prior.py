"""Learn the ``learned`` search prior from a single-edit scan with the placebo twin.

The scan is ``search=greedy search.simulations=<number of single edits> search.stop.enabled=false
search.control=placebo`` on a validation split: every single edit of the full chain is evaluated
on every question, and the twin tells, on the originally-wrong ones, which edits pick the placebo.
An edit's score is (questions it sent to gold − questions it sent to the placebo) / questions:
what an edit does beyond what any perturbation does.
"""

from __future__ import annotations

from collections import defaultdict

from cola import parse_chain
from search import EditConfig, children, signature
from search.prior import FORMAT


def learn_edit_prior(records: list[dict], source: str) -> dict:
    paired = [r for r in records if "placebo_correct_chains" in r]
    if not paired:
        raise ValueError(
            f"{source}: no originally-wrong record with a placebo twin; run the scan with search.control=placebo"
        )
    n_layers = paired[0]["n_layers"]
    full = tuple(range(n_layers))
    keys = {chain: signature(full, edit) for chain, edit in children(full, n_layers, EditConfig()).items()}
    totals: dict[tuple, float] = defaultdict(float)
    for record in paired:
        for field, sign in (("correct_chains", 1.0), ("placebo_correct_chains", -1.0)):
            for text in record[field]:
                key = keys.get(parse_chain(text, n_layers))
                if key is not None:  # single edits only: the scan's chains
                    totals[key] += sign
    edits = [
        {"kind": kind, "layer": layer, "size": size, "score": totals[(kind, layer, size)] / len(paired)}
        for kind, layer, size in sorted(set(keys.values()))
    ]
    edits.sort(key=lambda edit: -edit["score"])
    return {
        "format": FORMAT,
        "source": source,
        "n_layers": n_layers,
        "n_questions": len(paired),
        "edits": edits,
    }
