"""The equal-margin test: is a target reached more often when it is gold, at equal full-chain rank,
equal score gap to the full chain's answer and equal length?

On a wrongly answered question gold is often the full chain's runner-up, so anything that flips
near-ties reaches gold more often than a placebo without knowing anything. A chain that knows
something should land on gold more often than on a wrong answer of the same rank and margin; a
perturbation does not care which near-tie is right. Each unit is a (question, target) pair:

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

from benchmarks.experiments.reach import found_within, wrong_with_twin
from search.guesses import choice_ranks

BOOTSTRAP_RESAMPLES = 10_000  # published figures; tests pass fewer
BOOTSTRAP_SEED = 0
SPLINE_DF = 4
# A weak ridge on the (standardized) slopes keeps resamples with a separated cell (say, no
# third-ranked target reached) finite; against hundreds of units it moves the full-data fit by far
# less than its interval. It is scikit-learn's C = 100 (a test checks the fit against LogisticRegression).
RIDGE = 0.01
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


def _group_softmax(utility: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    top = np.full(n_groups, -np.inf)
    np.maximum.at(top, group, utility)
    exp = np.exp(utility - top[group])
    return exp / np.bincount(group, exp, minlength=n_groups)[group]


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
        top = np.full(n_groups, -np.inf)
        np.maximum.at(top, group, u)
        lse = top + np.log(np.bincount(group, np.exp(u - top[group]), minlength=n_groups))
        return float(hits @ u - chosen[chosen > 0] @ lse[chosen > 0] - 0.5 * ridge * beta @ beta)

    beta, current = np.zeros(x.shape[1]), objective(np.zeros(x.shape[1]))
    for _ in range(100):
        p = _group_softmax(x @ beta, group, n_groups)
        expected = chosen[group] * p
        means = np.stack([np.bincount(group, p * column, minlength=n_groups) for column in x.T], axis=1)
        gradient = x.T @ (hits - expected) - ridge * beta
        hessian = (
            (x * expected[:, None]).T @ x - (means * chosen[:, None]).T @ means + ridge * np.eye(len(beta))
        )
        step, size = np.linalg.solve(hessian + 1e-12 * np.eye(len(beta)), gradient), 1.0
        while (candidate := objective(beta + size * step)) < current - 1e-12 and size > 1e-6:
            size /= 2
        beta, gained, current = beta + size * step, candidate - current, candidate
        if gained < 1e-10:
            break
    return beta


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
        groups = [int(units.group[rows[0]]) for rows in rows_of]
        by_group = [np.flatnonzero(units.group == g) for g in range(int(units.group.max()) + 1)]
        return keys, choice_fit, lambda chosen: units.take_questions(np.asarray(groups)[chosen], by_group)
    return keys, fit, lambda chosen: units.take(np.concatenate([rows_of[c] for c in chosen]))


def bootstrap_p(draws: np.ndarray) -> float:
    """Two-sided p of a zero effect: twice the smaller share of resampled effects on either side of
    zero. Its resolution is 1 / resamples: print it with :func:`stats.format_p`."""
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
    keep = np.isin(units.question.astype(str), questions)
    if isinstance(units, Landings):
        kept_groups = np.unique(units.group[keep])
        by_group = [np.flatnonzero(units.group == g) for g in range(int(units.group.max()) + 1)]
        return units.take_questions(kept_groups, by_group)
    return units.take(np.flatnonzero(keep))


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
