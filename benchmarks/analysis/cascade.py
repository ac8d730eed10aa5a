"""Can a short chain's own confidence say when it departs from the full chain? A cascade read off
two ``scripts/evaluate.py`` runs on the same questions, with no answer key.

The draft (a router, a static chain) answers first. Where the margin of its choice distribution
(softmax of its choice scores: top probability minus the runner-up's) is at least a level, its
answer stands; elsewhere the full chain runs as well and its answer is taken, so those questions
pay both chains' layers. A level is worth having only if confident drafts agree with the full
chain more often than the draft does overall: that share ("agrees where kept") is what the table
tests, beside the cascade's agreement, accuracy and mean layers. A second table splits the draft's
agreement by the full chain's own margin: whether it departs only on near-ties, which any change
of chain flips, or on answers the full chain is sure of.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from benchmarks.analysis.policy_gains import common_records
from benchmarks.analysis.stats import rate
from search.guesses import choice_distribution


def choice_margin(scores: Sequence[float]) -> float:
    """Top minus runner-up probability of softmax(scores); 1.0 for a single choice."""
    probabilities = sorted(choice_distribution(scores, 1.0), reverse=True)
    return float(probabilities[0] - (probabilities[1] if len(probabilities) > 1 else 0.0))


def _paired(draft: list[dict], full: list[dict]) -> list[tuple[dict, dict]]:
    """(draft, full) records of the questions both runs answered, in the draft's order."""
    paired = common_records({"draft": draft, "full": full})
    pairs = list(zip(paired["draft"], paired["full"], strict=True))
    for record in (record for pair in pairs for record in pair):
        missing = {"scores", "prediction", "correct", "chain_length"} - record.keys()
        if missing:
            raise ValueError(f"record {record.get('id')!r} lacks {sorted(missing)}")
    return pairs


def cascade_rows(draft: list[dict], full: list[dict], levels: Sequence[float]) -> list[dict]:
    """One row per margin level, on the questions both runs answered."""
    if any(not 0.0 <= level <= 1.0 for level in levels):
        raise ValueError(f"margin levels must lie in [0, 1], got {list(levels)}")
    pairs = _paired(draft, full)
    margins = [choice_margin(d["scores"]) for d, _ in pairs]
    draft_agrees = [d["prediction"] == f["prediction"] for d, f in pairs]
    full_layers = sum(f["chain_length"] for _, f in pairs) / len(pairs)
    rows = []
    for level in levels:
        kept = [margin >= level for margin in margins]
        rows.append(
            {
                "level": level,
                "n": len(pairs),
                "kept": sum(kept) / len(pairs),
                "agrees_where_kept": rate([a for a, keep in zip(draft_agrees, kept, strict=True) if keep]),
                # where the full chain ran too, its own answer is taken: agreement by construction
                "agreement": rate([a or not keep for a, keep in zip(draft_agrees, kept, strict=True)]),
                "accuracy": rate(
                    [bool((d if keep else f)["correct"]) for (d, f), keep in zip(pairs, kept, strict=True)]
                ),
                "mean_layers": sum(
                    d["chain_length"] + (0 if keep else f["chain_length"])
                    for (d, f), keep in zip(pairs, kept, strict=True)
                )
                / len(pairs),
                "full_layers": full_layers,
            }
        )
    return rows


FULL_MARGIN_EDGES = (0.0, 0.1, 0.3, 0.6)  # bins [0, 0.1), [0.1, 0.3), [0.3, 0.6), [0.6, 1]


def agreement_by_full_margin(
    draft: list[dict], full: list[dict], edges: Sequence[float] = FULL_MARGIN_EDGES
) -> list[dict]:
    """The draft's agreement with the full chain among questions whose full-chain margin lies in
    each bin (from each edge up to the next; the last bin up to 1)."""
    pairs = [
        (choice_margin(f["scores"]), d["prediction"] == f["prediction"]) for d, f in _paired(draft, full)
    ]
    rows = []
    for low, high in zip(edges, (*edges[1:], math.inf), strict=True):
        inside = [agrees for margin, agrees in pairs if low <= margin < high]
        rows.append({"low": low, "high": min(high, 1.0), "n": len(inside), "agreement": rate(inside)})
    return rows
