"""The equal-margin test's units: per search (gold and its placebo, each reached within k or not)
and per chain (where each chain that left the full chain's answer landed), built from search
records, with each target's covariates (rank, score gap, length centred within the question); and
the binned tables that show the comparison without a model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.analysis.reach import found_within, wrong_with_twin
from search.guesses import choice_ranks

UNIT_FIELDS = ("reached", "is_gold", "rank", "gap", "length", "question", "weight")


@dataclass(frozen=True)
class Units:
    """Rows of (question, target) outcomes: reached, is-gold, rank, gap, length (tokens, centred
    within the question), and how many units a row stands for (``weight``: the chains of one
    question that share a target and its outcome are one row, the binomial likelihood being the
    same); ``question`` (the question's id) clusters them and pairs two runs."""

    reached: np.ndarray
    is_gold: np.ndarray
    rank: np.ndarray
    gap: np.ndarray
    length: np.ndarray
    question: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return len(self.reached)

    @property
    def n_units(self) -> int:
        return int(self.weight.sum())

    def take(self, rows: np.ndarray) -> Units:
        return Units(*(getattr(self, name)[rows] for name in UNIT_FIELDS))


def _gap(record: dict, target: int) -> float:
    scores = record["full_scores"]
    return float(max(scores) - scores[target])


def centred_lengths(record: dict) -> np.ndarray:
    """Each choice's length in tokens less the question's mean choice length."""
    if "continuation_ids" not in record:
        raise ValueError(
            f"record {record.get('id')!r} has no continuation_ids: the test needs each choice's length"
        )
    lengths = np.array([len(ids) for ids in record["continuation_ids"]], dtype=float)
    return lengths - lengths.mean()


def _units(rows: list[tuple]) -> Units:
    rows = [row for row in rows if row[-1] > 0]
    if not rows:
        return Units(*(np.zeros(0) for _ in UNIT_FIELDS))
    columns = list(zip(*rows, strict=True))
    return Units(
        *(
            np.asarray(column, dtype=object if name == "question" else float)
            for name, column in zip(UNIT_FIELDS, columns, strict=True)
        )
    )


def search_units(records: list[dict], budget: int) -> Units:
    """Gold and placebo targets of the originally-wrong questions whose twin ran."""
    rows = []
    for record in wrong_with_twin(records):
        lengths = centred_lengths(record)
        for prefix, target, rank in (
            ("", record["gold"], record["gold_rank"]),
            ("placebo_", record["placebo"], record["placebo_rank"]),
        ):
            reached = found_within(record, budget, prefix)
            rows.append((reached, not prefix, rank, _gap(record, target), lengths[target], record["id"], 1))
    return _units(rows)


@dataclass(frozen=True)
class Landings:
    """Per chain: on each originally-wrong question, how many of its chains landed on each choice
    the full chain did not pick (``hits``), out of ``off`` chains that left the full chain's answer
    and ``chains`` chains in all; one row per (question, target), rows of a question together
    (``group`` numbers the questions from 0)."""

    is_gold: np.ndarray
    rank: np.ndarray
    gap: np.ndarray
    length: np.ndarray
    question: np.ndarray
    group: np.ndarray
    hits: np.ndarray
    off: np.ndarray
    chains: np.ndarray

    def __len__(self) -> int:
        return len(self.hits)

    @property
    def n_units(self) -> int:
        return int(self.chains.sum())  # every chain is a unit for every target of its question

    def as_units(self) -> Units:
        """The same landings as per-chain units (reached and not, weighted), for binned tables."""
        columns = [np.r_[values, values] for values in (self.is_gold, self.rank, self.gap, self.length)]
        reached = np.r_[np.ones(len(self)), np.zeros(len(self))]
        question = np.r_[self.question, self.question]
        return Units(reached, *columns, question, np.r_[self.hits, self.chains - self.hits])

    def rows_by_group(self) -> list[np.ndarray]:
        """Each question's rows, by its ``group`` number (what :meth:`take_questions` draws from)."""
        return [np.flatnonzero(self.group == g) for g in range(int(self.group.max()) + 1)]

    def take_questions(self, groups: np.ndarray, rows_of: list[np.ndarray]) -> Landings:
        """The questions numbered ``groups`` (repeats allowed), renumbered in that order."""
        rows = np.concatenate([rows_of[g] for g in groups])
        renumbered = np.repeat(np.arange(len(groups)), [len(rows_of[g]) for g in groups])
        fields = {name: getattr(self, name)[rows] for name in LANDING_FIELDS}
        return Landings(**(fields | {"group": renumbered}))


LANDING_FIELDS = ("is_gold", "rank", "gap", "length", "question", "group", "hits", "off", "chains")


def chain_units(records: list[dict], budget: int) -> Landings:
    """On originally-wrong questions, where each chain (the first ``budget`` after the full one)
    landed among the choices the full chain did not pick."""
    rows = []
    for record in records:
        if record["full_scores"][record["gold"]] == max(record["full_scores"]):
            continue  # answered right (or gold tied for the top): gold is no target here
        ranks, lengths = choice_ranks(record["full_scores"]), centred_lengths(record)
        landings = record["predictions"][1 : budget + 1]
        targets = [choice for choice, rank in enumerate(ranks) if rank > 0]
        off = sum(prediction in targets for prediction in landings)
        for target in targets:
            hits = sum(prediction == target for prediction in landings)
            rows.append(
                (
                    target == record["gold"],
                    ranks[target],
                    _gap(record, target),
                    lengths[target],
                    record["id"],
                    hits,
                    off,
                    len(landings),
                )
            )
    if not rows:
        return Landings(*(np.zeros(0) for _ in LANDING_FIELDS))
    columns = dict(
        zip(
            ("is_gold", "rank", "gap", "length", "question", "hits", "off", "chains"),
            zip(*rows, strict=True),
            strict=True,
        )
    )
    question = np.asarray(columns.pop("question"), dtype=object)
    group = np.cumsum(np.r_[0, question[1:] != question[:-1]]).astype(int)
    return Landings(
        **{name: np.asarray(values, dtype=float) for name, values in columns.items()},
        question=question,
        group=group,
    )


def gap_bins(units: Units, n_bins: int = 3) -> np.ndarray:
    """Bin edges of the gap at its quantiles among gold units (where the comparison has data)."""
    gold = units.is_gold == 1
    gaps, weights = (units.gap[gold], units.weight[gold]) if gold.any() else (units.gap, units.weight)
    order = np.argsort(gaps)
    cumulative = np.cumsum(weights[order]) / weights.sum()
    quantiles = np.linspace(0, 1, n_bins + 1)
    edges = gaps[order][np.minimum(np.searchsorted(cumulative, quantiles), len(gaps) - 1)]
    edges[0], edges[-1] = -np.inf, np.inf
    return edges


def binned_table(units: Units | Landings, n_bins: int = 3) -> list[dict]:
    """Reach of gold and of other targets per rank (runner-up / lower) and gap bin."""
    if isinstance(units, Landings):
        units = units.as_units()
    edges = gap_bins(units, n_bins)
    rows = []
    for rank_name, in_rank in (("runner-up", units.rank == 1), ("lower", units.rank >= 2)):
        for low, high in zip(edges[:-1], edges[1:], strict=True):
            in_bin = in_rank & (units.gap >= low) & (units.gap < high)
            cells = {}
            for name, is_gold in (("gold", 1), ("other", 0)):
                chosen = in_bin & (units.is_gold == is_gold)
                weight = units.weight[chosen]
                cells[name] = [int(weight[units.reached[chosen] == 1].sum()), int(weight.sum())]
            rows.append({"rank": rank_name, "gap": [float(low), float(high)], **cells})
    return rows
