"""The equal-margin test: is a target reached more often when it is gold, at equal full-chain rank,
equal score gap to the full chain's answer and equal length?

On a wrongly answered question gold is often the full chain's runner-up, so anything that flips
near-ties reaches gold more often than a placebo without knowing anything. A chain that knows
something should land on gold more often than on a wrong answer of the same rank and margin; a
perturbation does not care which near-tie is right. Each unit is a (question, target) pair (built
in ``equal_margin_units``):

* per search (``search_units``): on an originally-wrong question whose placebo twin ran, gold
  (searched by the search) and the placebo (by its twin), each "reached within k";
* per chain (``chain_units``): on an originally-wrong question, every evaluated chain after the full
  one, with every choice the full chain did not pick as a target, "reached" when the chain picks it.
  Only wrong questions: gold is a target only there, and a wrong question is more fragile than a
  right one in ways its gap does not say, which would read as knowledge.

The model, fixed before any refit: logistic regression of reached on is-gold, the target's
full-chain rank (runner-up, third, lower), its score gap (in the task's metric) as a natural cubic
spline with 4 degrees of freedom, and its length in tokens centred within the question (damaged
chains favour short answers: without it the knowledge-free control reads below zero). Not a
conditional logit within question: per search a question holds two units, so a within-question
fit keeps only the discordant pairs and yields no effect on the probability scale; the known
per-question confounder (length) is centred within the question instead, and the simulation in
``equal_margin_calibration`` shows the interval covers a true zero. The average effect is taken
over the units where gold occurs (the effect on gold targets of being gold). Intervals: percentile
bootstrap resampling questions (a question's units stay together).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.analysis.equal_margin.units import Landings, Units

BOOTSTRAP_RESAMPLES = 10_000  # published figures; tests pass fewer
BOOTSTRAP_SEED = 0
SPLINE_DF = 4
# A weak ridge on the (standardized) slopes keeps resamples with a separated cell (say, no
# third-ranked target reached) finite; against hundreds of units it moves the full-data fit by far
# less than its interval. It is scikit-learn's C = 100 (a test checks the fit against LogisticRegression).
RIDGE = 0.01


def natural_spline_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """The natural cubic spline basis without intercept (Hastie, Tibshirani and Friedman, The
    Elements of Statistical Learning, eq. 5.4-5.5): x and K - 2 truncated-cubic differences,
    linear beyond the boundary knots; ``len(knots) - 1`` columns."""
    last = knots[-1]

    def d(k: int) -> np.ndarray:
        return (np.maximum(x - knots[k], 0) ** 3 - np.maximum(x - last, 0) ** 3) / (last - knots[k])

    return np.column_stack([x, *(d(k) - d(len(knots) - 2) for k in range(len(knots) - 2))])


@dataclass(frozen=True)
class Covariates:
    """The design, fixed on the data it was made from so every bootstrap refit reads the same
    model: the spline's knots (boundary and interior at the gap's quantiles, 4 degrees of freedom)
    and each column's centre and scale (the ridge then treats the columns alike)."""

    knots: np.ndarray
    centre: np.ndarray
    scale: np.ndarray

    @classmethod
    def of(cls, units: Units) -> Covariates:
        knots = np.quantile(units.gap, np.linspace(0, 1, SPLINE_DF + 1))
        if len(np.unique(knots)) < len(knots):
            raise ValueError(f"the score gaps take too few values for a {SPLINE_DF}-df spline: knots {knots}")
        raw = _raw_columns(units, knots, units.is_gold)
        scale = raw.std(axis=0)
        return cls(knots, raw.mean(axis=0), np.where(scale > 0, scale, 1.0))

    def matrix(self, units: Units, *, is_gold: np.ndarray | None = None) -> np.ndarray:
        gold = units.is_gold if is_gold is None else is_gold
        return (_raw_columns(units, self.knots, gold) - self.centre) / self.scale


def _raw_columns(units: Units, knots: np.ndarray, is_gold: np.ndarray) -> np.ndarray:
    """is-gold, third-ranked, lower-ranked (the runner-up is the base), spline of the gap, length."""
    return np.column_stack(
        [is_gold, units.rank == 2, units.rank >= 3, natural_spline_basis(units.gap, knots), units.length]
    ).astype(float)


def logistic_fit(x: np.ndarray, y: np.ndarray, weight: np.ndarray, *, ridge: float = RIDGE) -> np.ndarray:
    """[intercept, slopes] maximizing the weighted log-likelihood less ridge/2 * |slopes|^2: Newton
    steps with step halving. Written out because a bootstrap refits it ten thousand times and a
    general solver's overhead made that minutes; it is the same estimate (tested)."""
    x = np.column_stack([np.ones(len(x)), x])
    penalty = np.full(x.shape[1], ridge)
    penalty[0] = 0.0

    def objective(beta: np.ndarray) -> float:
        z = x @ beta
        return float(weight @ (y * z - np.logaddexp(0.0, z)) - 0.5 * penalty @ beta**2)

    def derivatives(beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        gradient = x.T @ (weight * (y - p)) - penalty * beta
        return gradient, (x * (weight * p * (1 - p))[:, None]).T @ x + np.diag(penalty)

    return newton_maximize(objective, derivatives, x.shape[1])


def newton_maximize(objective, derivatives, size: int) -> np.ndarray:
    """Newton steps (``derivatives(beta)`` -> gradient, negative Hessian) from zero, each halved
    until the objective does not fall, until it gains less than 1e-10."""
    beta, current = np.zeros(size), objective(np.zeros(size))
    for _ in range(100):
        gradient, hessian = derivatives(beta)
        step, scale = np.linalg.solve(hessian + 1e-12 * np.eye(size), gradient), 1.0
        while (candidate := objective(beta + scale * step)) < current - 1e-12 and scale > 1e-6:
            scale /= 2
        beta, gained, current = beta + scale * step, candidate - current, candidate
        if gained < 1e-10:
            break
    return beta


def _group_logsumexp(utility: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """log sum exp of the utilities of each group (question), stably."""
    top = np.full(n_groups, -np.inf)
    np.maximum.at(top, group, utility)
    return top + np.log(np.bincount(group, np.exp(utility - top[group]), minlength=n_groups))


def _group_softmax(utility: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    return np.exp(utility - _group_logsumexp(utility, group, n_groups)[group])


def conditional_logit_fit(
    x: np.ndarray, hits: np.ndarray, group: np.ndarray, *, ridge: float = RIDGE
) -> np.ndarray:
    """Slopes of the conditional (multinomial) logit of which target a chain that left the full
    chain's answer lands on, among its question's targets: P(j) = exp(x_j b) / sum_k exp(x_k b) over
    the question's rows (McFadden's choice model; a question's own rate of leaving the answer drops
    out). Newton steps with step halving and the same ridge as :func:`logistic_fit`."""
    n_groups = int(group.max()) + 1 if len(group) else 0
    chosen = np.bincount(group, hits, minlength=n_groups)  # chains that left the answer, per question

    def objective(beta: np.ndarray) -> float:
        u = x @ beta
        lse = _group_logsumexp(u, group, n_groups)
        return float(hits @ u - chosen[chosen > 0] @ lse[chosen > 0] - 0.5 * ridge * beta @ beta)

    def derivatives(beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = _group_softmax(x @ beta, group, n_groups)
        expected = chosen[group] * p
        means = np.stack([np.bincount(group, p * column, minlength=n_groups) for column in x.T], axis=1)
        gradient = x.T @ (hits - expected) - ridge * beta
        hessian = (
            (x * expected[:, None]).T @ x - (means * chosen[:, None]).T @ means + ridge * np.eye(len(beta))
        )
        return gradient, hessian

    return newton_maximize(objective, derivatives, x.shape[1])


def choice_fit(landings: Landings, covariates: Covariates) -> tuple[float, float] | None:
    """Per chain: (is-gold coefficient, average effect on the chance that a chain lands on gold):
    over the gold targets, the question's share of chains that left the answer times the change
    in gold's choice probability when its is-gold is set to 0."""
    gold = landings.is_gold == 1
    if not gold.any() or gold.all() or landings.hits.sum() == 0:
        return None
    x = covariates.matrix(landings)
    n_groups = int(landings.group.max()) + 1
    beta = conditional_logit_fit(x, landings.hits, landings.group)
    utility = x @ beta
    plain = utility - gold * beta[0] / covariates.scale[0]  # gold's is-gold set to 0, others as they are
    change = _group_softmax(utility, landings.group, n_groups) - _group_softmax(
        plain, landings.group, n_groups
    )
    return float(beta[0] / covariates.scale[0]), float(
        np.mean((landings.off / landings.chains * change)[gold])
    )


def fit(units: Units, covariates: Covariates) -> tuple[float, float] | None:
    """(is-gold coefficient per unit of is-gold, average effect on the chance of reaching over the
    gold units); None when the units cannot fit a model (one outcome only, or no gold / no other)."""
    if len(set(units.reached)) < 2 or len(set(units.is_gold)) < 2:
        return None
    beta = logistic_fit(covariates.matrix(units), units.reached, units.weight)
    gold = units.take(np.flatnonzero(units.is_gold == 1))

    def chance(is_gold: float) -> np.ndarray:
        z = beta[0] + covariates.matrix(gold, is_gold=np.full(len(gold), is_gold)) @ beta[1:]
        return 1.0 / (1.0 + np.exp(-z))

    coefficient = beta[1] / covariates.scale[0]  # back from the standardized column
    return float(coefficient), float(np.average(chance(1.0) - chance(0.0), weights=gold.weight))


def _resampled_questions(questions: np.ndarray, resamples: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(resamples):
        yield rng.choice(len(questions), size=len(questions))


def _resampler(units: Units | Landings):
    """(the question ids, their fit, and a function from drawn question positions to the units of
    those questions, repeats kept as separate questions)."""
    order = np.argsort(units.question.astype(str), kind="stable")
    keys, starts = np.unique(units.question[order].astype(str), return_index=True)
    rows_of = np.split(order, starts[1:])
    if isinstance(units, Landings):
        groups, by_group = np.array([int(units.group[rows[0]]) for rows in rows_of]), units.rows_by_group()
        return keys, choice_fit, lambda chosen: units.take_questions(groups[chosen], by_group)
    return keys, fit, lambda chosen: units.take(np.concatenate([rows_of[c] for c in chosen]))


def bootstrap_p(draws: np.ndarray) -> float:
    """Two-sided p of a zero effect: twice the smaller share of resampled effects on either side of
    zero. It moves in steps of 2 / resamples: print it with :func:`stats.format_p`."""
    return float(min(1.0, 2 * min(np.mean(draws <= 0), np.mean(draws >= 0))))


def _interval(draws: np.ndarray) -> list[float]:
    return [float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))]


def equal_margin_test(
    units: Units | Landings, *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> dict | None:
    """The fit (per search :func:`fit`, per chain :func:`choice_fit`) with intervals from a
    bootstrap clustered by question, and a two-sided p of the average effect."""
    if len(units) == 0:
        return None
    covariates = Covariates.of(units)
    keys, fit_of, draw = _resampler(units)
    if (point := fit_of(units, covariates)) is None:
        return None
    draws = [
        refit
        for chosen in _resampled_questions(keys, resamples, seed)
        if (refit := fit_of(draw(chosen), covariates)) is not None
    ]
    coefficients, effects = np.array(draws).T
    gold = units.is_gold == 1
    return {
        "n_units": units.n_units,
        "n_questions": len(keys),
        "n_gold_units": int((units.weight if isinstance(units, Units) else units.chains)[gold].sum()),
        "coefficient": point[0],
        "coefficient_ci": _interval(coefficients),
        "effect": point[1],
        "effect_ci": _interval(effects),
        "effect_p": bootstrap_p(effects),
        "resamples": len(draws),
    }


def paired_difference(
    first: Units | Landings,
    second: Units | Landings,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict | None:
    """``first``'s average is-gold effect less ``second``'s, on the questions both hold, with a
    bootstrap that draws the same questions for both (paired by question)."""
    common = np.intersect1d(first.question.astype(str), second.question.astype(str))
    if not len(common):
        return None
    both = [_only(units, common) for units in (first, second)]
    models = [Covariates.of(units) for units in both]
    resamplers = [_resampler(units) for units in both]  # each lists the common questions in one order
    points = [
        fit_of(units, model) for units, model, (_, fit_of, _) in zip(both, models, resamplers, strict=True)
    ]
    if None in points:
        return None
    draws = []
    for chosen in _resampled_questions(common, resamples, seed):
        refits = [
            fit_of(draw(chosen), model) for model, (_, fit_of, draw) in zip(models, resamplers, strict=True)
        ]
        if None not in refits:
            draws.append(refits[0][1] - refits[1][1])
    draws = np.array(draws)
    return {
        "n_questions": len(common),
        "effects": [points[0][1], points[1][1]],
        "difference": points[0][1] - points[1][1],
        "difference_ci": _interval(draws),
        "difference_p": bootstrap_p(draws),
        "resamples": len(draws),
    }


def _only(units: Units | Landings, questions: np.ndarray) -> Units | Landings:
    """The rows of ``questions``, ordered by question id, so that two runs holding the same rows in
    another order fit the same numbers to the last bit (a sum's order changes its rounding)."""
    ids = units.question.astype(str)
    keep = np.isin(ids, questions)
    if isinstance(units, Landings):
        rows_of = units.rows_by_group()
        groups = np.unique(units.group[keep])
        in_id_order = groups[np.argsort(ids[[rows_of[g][0] for g in groups]], kind="stable")]
        return units.take_questions(in_id_order, rows_of)
    rows = np.flatnonzero(keep)
    return units.take(rows[np.argsort(ids[rows], kind="stable")])
