"""The equal-margin test: is a target reached more often when it is gold, at equal full-chain rank
and equal score gap to the full chain's answer?

On a wrongly answered question gold is often the full chain's runner-up, so anything that flips
near-ties reaches gold more often than a placebo without knowing anything. A chain that knows
something should land on gold more often than on a wrong answer of the same rank and margin; a
perturbation does not care which near-tie is right. Each unit is a (question, target) pair:

* per search (``search_units``): on an originally-wrong question whose placebo twin ran, gold
  (searched by the search) and the placebo (by its twin), each "reached within k";
* per chain (``chain_units``): every evaluated chain after the full one, with every choice the
  full chain did not pick as a target, "reached" when the chain picks it (random chains).

A logistic model of reached on is-gold, rank (runner-up, third, lower) and gap (in the task's
metric; summed log-likelihood for ``acc``) gives the is-gold coefficient and its average effect on
the probability; both get a percentile bootstrap interval that resamples questions (a question's
units stay together). The binned tables show the same comparison without a model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.experiments.reach import found_within, wrong_with_twin
from search.guesses import choice_ranks

BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0
# A weak ridge on the slopes keeps resamples with a separated cell (say, no third-ranked target
# reached) finite; against hundreds of units it moves the full-data fit by far less than its
# interval. It is scikit-learn's C = 100 (a test checks the fit against LogisticRegression).
RIDGE = 0.01


@dataclass(frozen=True)
class Units:
    """Rows of (question, target) outcomes: reached, is-gold, rank, gap, and how many units a row
    stands for (``weight``: the chains of one question that share a target and its outcome are one
    row, the binomial likelihood being the same); ``question`` clusters them."""

    reached: np.ndarray
    is_gold: np.ndarray
    rank: np.ndarray
    gap: np.ndarray
    question: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return len(self.reached)

    @property
    def n_units(self) -> int:
        return int(self.weight.sum())

    def take(self, rows: np.ndarray) -> Units:
        names = ("reached", "is_gold", "rank", "gap", "question", "weight")
        return Units(*(getattr(self, name)[rows] for name in names))


def _gap(record: dict, target: int) -> float:
    scores = record["full_scores"]
    return float(max(scores) - scores[target])


def _units(rows: list[tuple[bool, bool, int, float, int, int]]) -> Units:
    rows = [row for row in rows if row[-1] > 0]
    if not rows:
        return Units(*(np.zeros(0) for _ in range(6)))
    columns = list(zip(*rows, strict=True))
    return Units(*(np.asarray(column, dtype=float) for column in columns))


def search_units(records: list[dict], budget: int) -> Units:
    """Gold and placebo targets of the originally-wrong questions whose twin ran."""
    rows = []
    for question, record in enumerate(wrong_with_twin(records)):
        for prefix, target, rank in (
            ("", record["gold"], record["gold_rank"]),
            ("placebo_", record["placebo"], record["placebo_rank"]),
        ):
            reached = found_within(record, budget, prefix)
            rows.append((reached, not prefix, rank, _gap(record, target), question, 1))
    return _units(rows)


def chain_units(records: list[dict], budget: int) -> Units:
    """Every chain's landing (the first ``budget`` after the full one), every non-top choice a target."""
    rows = []
    for question, record in enumerate(records):
        ranks = choice_ranks(record["full_scores"])
        targets = [choice for choice, rank in enumerate(ranks) if rank > 0]
        landings = record["predictions"][1 : budget + 1]
        for target in targets:
            hits = sum(prediction == target for prediction in landings)
            covariates = (target == record["gold"], ranks[target], _gap(record, target), question)
            rows += [(True, *covariates, hits), (False, *covariates, len(landings) - hits)]
    return _units(rows)


def design(units: Units, *, is_gold: np.ndarray | None = None) -> np.ndarray:
    """Columns: is-gold, third-ranked, lower-ranked (the runner-up is the base), gap."""
    gold = units.is_gold if is_gold is None else is_gold
    return np.column_stack([gold, units.rank == 2, units.rank >= 3, units.gap]).astype(float)


def logistic_fit(x: np.ndarray, y: np.ndarray, weight: np.ndarray, *, ridge: float = RIDGE) -> np.ndarray:
    """[intercept, slopes] maximizing the weighted log-likelihood less ridge/2 * |slopes|^2: Newton
    steps with step halving. Written out because a bootstrap refits it a thousand times and a
    general solver's overhead made that minutes; it is the same estimate (tested)."""
    x = np.column_stack([np.ones(len(x)), x])
    penalty = np.full(x.shape[1], ridge)
    penalty[0] = 0.0

    def objective(beta: np.ndarray) -> float:
        z = x @ beta
        return float(weight @ (y * z - np.logaddexp(0.0, z)) - 0.5 * penalty @ beta**2)

    beta, current = np.zeros(x.shape[1]), objective(np.zeros(x.shape[1]))
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        gradient = x.T @ (weight * (y - p)) - penalty * beta
        hessian = (x * (weight * p * (1 - p))[:, None]).T @ x + np.diag(penalty)
        step, size = np.linalg.solve(hessian + 1e-12 * np.eye(len(beta)), gradient), 1.0
        while (candidate := objective(beta + size * step)) < current - 1e-12 and size > 1e-6:
            size /= 2
        beta, gained, current = beta + size * step, candidate - current, candidate
        if gained < 1e-10:
            break
    return beta


def fit(units: Units) -> tuple[float, float] | None:
    """(is-gold coefficient, its average effect on the probability of reaching); None when the
    units cannot fit a model (one outcome only, or no gold / no other target)."""
    if len(set(units.reached)) < 2 or len(set(units.is_gold)) < 2:
        return None
    beta = logistic_fit(design(units), units.reached, units.weight)

    def chance(is_gold: float) -> np.ndarray:
        z = beta[0] + design(units, is_gold=np.full(len(units), is_gold)) @ beta[1:]
        return 1.0 / (1.0 + np.exp(-z))

    return float(beta[1]), float(np.average(chance(1.0) - chance(0.0), weights=units.weight))


def equal_margin_test(units: Units, *, resamples: int = BOOTSTRAP_RESAMPLES) -> dict | None:
    """The fit with intervals from a bootstrap clustered by question, and a two-sided p of the
    average effect (twice the smaller share of resampled effects on either side of 0)."""
    point = fit(units)
    if point is None:
        return None
    questions = np.unique(units.question)
    rows_of = {q: np.flatnonzero(units.question == q) for q in questions}
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    draws = []
    for _ in range(resamples):
        chosen = rng.choice(questions, size=len(questions))
        if (refit := fit(units.take(np.concatenate([rows_of[q] for q in chosen])))) is not None:
            draws.append(refit)
    coefficients, effects = np.array(draws).T
    tail = min(np.mean(effects <= 0), np.mean(effects >= 0))
    return {
        "n_units": units.n_units,
        "n_questions": len(questions),
        "n_gold_units": int(units.weight[units.is_gold == 1].sum()),
        "coefficient": point[0],
        "coefficient_ci": [float(np.percentile(coefficients, 2.5)), float(np.percentile(coefficients, 97.5))],
        "effect": point[1],
        "effect_ci": [float(np.percentile(effects, 2.5)), float(np.percentile(effects, 97.5))],
        "effect_p": float(min(1.0, 2 * tail)),
        "resamples": len(draws),
    }


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


def binned_table(units: Units, n_bins: int = 3) -> list[dict]:
    """Reach of gold and of other targets per rank (runner-up / lower) and gap bin."""
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
