"""Intervals and paired tests for the rates the reports print.

* a proportion: Wilson score interval (95%), which stays inside [0, 1] and behaves at 0 and n;
* a difference of two rates on the same samples: percentile paired bootstrap (fixed seed), and
  the exact McNemar test on the discordant pairs (a two-sided binomial test with p = 1/2);
* a paired mean difference: the sign-flip permutation test.
The tests and intervals are scipy.stats'; this module fixes their settings and edge cases.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

Z95 = 1.959963984540054
BOOTSTRAP_SEED = 0
BOOTSTRAP_RESAMPLES = 10_000


def wilson_interval(successes: float, n: int, z: float = Z95) -> list[float] | None:
    """[low, high] of a proportion ``successes / n``; None when there are no samples."""
    if n == 0:
        return None
    if z != Z95 or successes != int(successes):
        return _wilson_formula(successes, n, z)
    interval = stats.binomtest(int(successes), n).proportion_ci(confidence_level=0.95, method="wilson")
    return [float(interval.low), float(interval.high)]


def _wilson_formula(successes: float, n: int, z: float) -> list[float]:
    # Other confidence levels and fractional counts (weighted samples), which scipy does not take.
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [max(0.0, centre - half), min(1.0, centre + half)]


def rate(flags: Sequence[bool]) -> tuple[float | None, list[float] | None]:
    """The share of true flags and its Wilson interval (None, None for no samples)."""
    if not flags:
        return None, None
    return sum(flags) / len(flags), wilson_interval(sum(flags), len(flags))


def paired_differences(first: Sequence[float], second: Sequence[float]) -> np.ndarray:
    """first - second, sample by sample; refused when the samples are not paired one to one."""
    if len(first) != len(second):
        raise ValueError(f"paired samples differ in length: {len(first)} vs {len(second)}")
    return np.asarray(first, dtype=float) - np.asarray(second, dtype=float)


def paired_bootstrap_interval(
    first: Sequence[float], second: Sequence[float], *, resamples: int = BOOTSTRAP_RESAMPLES
) -> list[float] | None:
    """95% percentile-bootstrap interval of mean(first) - mean(second), resampling the samples
    (pairs kept together; scipy.stats.bootstrap, fixed seed)."""
    differences = paired_differences(first, second)
    if len(differences) < 2 or np.ptp(differences) == 0:
        return [float(differences.mean())] * 2 if len(differences) else None
    result = stats.bootstrap(
        (differences,), np.mean, n_resamples=resamples, method="percentile", random_state=BOOTSTRAP_SEED
    )
    return [float(result.confidence_interval.low), float(result.confidence_interval.high)]


def sign_flip_p(
    first: Sequence[float], second: Sequence[float], *, draws: int = BOOTSTRAP_RESAMPLES
) -> float | None:
    """Two-sided p-value that mean(first - second) is 0: the paired differences' signs are
    exchangeable under that null (scipy.stats.permutation_test over sign flips: exact up to 13
    pairs, Monte Carlo with a fixed seed beyond)."""
    differences = paired_differences(first, second)
    if not len(differences):
        return None
    if not differences.any() or len(differences) == 1:
        return 1.0  # one pair: its two signs are equally likely and equally extreme
    result = stats.permutation_test(
        (differences,),
        lambda sample, axis: np.mean(sample, axis=axis),
        permutation_type="samples",
        n_resamples=draws,
        alternative="two-sided",
        random_state=BOOTSTRAP_SEED,
    )
    return float(min(1.0, result.pvalue))


def mcnemar_exact(first: Sequence[bool], second: Sequence[bool]) -> float | None:
    """Two-sided exact McNemar p-value of paired outcomes: does ``first`` succeed where ``second``
    fails more often than the reverse? (scipy.stats.binomtest on the discordant pairs, p = 1/2.)
    None without samples; 1.0 without discordant pairs."""
    if len(first) != len(second):
        raise ValueError(f"paired samples differ in length: {len(first)} vs {len(second)}")
    if not first:
        return None
    only_first = sum(a and not b for a, b in zip(first, second, strict=True))
    only_second = sum(b and not a for a, b in zip(first, second, strict=True))
    if only_first + only_second == 0:
        return 1.0
    return float(stats.binomtest(only_first, only_first + only_second, 0.5).pvalue)


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment: the i-th smallest p times (m - i), kept monotone, capped at 1."""
    order = np.argsort(p_values)
    adjusted, running = [0.0] * len(p_values), 0.0
    for position, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - position) * p_values[index]))
        adjusted[index] = running
    return adjusted


def mean_interval(values: Sequence[float], z: float = Z95) -> tuple[float, float, float]:
    """(mean, low, high): the normal-approximation interval of a mean (NaN bounds for n < 2)."""
    array = np.asarray(values, dtype=float)
    half = z * array.std(ddof=1) / math.sqrt(len(array)) if len(array) > 1 else math.nan
    return float(array.mean()), float(array.mean() - half), float(array.mean() + half)


def format_rate(value, interval: Sequence[float] | None = None) -> str:
    """``0.510 (0.441–0.578)``: a rate with its interval as the reports print it; "–" for none."""
    if value is None:
        return "–"
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    return f"{text} ({interval[0]:.3f}–{interval[1]:.3f})" if interval else text


def format_p(p: float | None, resamples: int | None = None) -> str:
    """A p-value at the resolution that produced it. A two-sided p from ``resamples`` draws cannot
    go below about 2 / (resamples + 1) (scipy's sign flips add one to both counts; a bootstrap tail
    of 0 is as far as it can see): at that floor it reads ``≤ 0.0002`` for 10,000, never an exact
    value or ``< 0.001`` from a thousand. An exact p below 0.0001 reads ``< 0.0001``."""
    if p is None:
        return "–"
    if resamples:
        floor = 2 / (resamples + 1)
        if p <= floor * (1 + 1e-9):
            return f"≤ {floor:.1g}"
    elif p < 1e-4:
        return "< 0.0001"
    return f"{p:.4f}" if p < 0.001 else f"{p:.3f}"


def pooled_clustered_difference(
    cells: dict[str, tuple[list[str], list[bool], list[bool]]], *, resamples: int = BOOTSTRAP_RESAMPLES
) -> dict:
    """``first`` less ``second`` pooled over cells (say, model x split) that may share questions:
    each question's net (ups less downs, summed over the cells that hold it) is the unit, so the
    interval (percentile bootstrap over questions) and the p (sign flips of the question nets,
    :func:`sign_flip_p`) respect that two cells on one question are not independent. Questions are
    resampled whole, with every cell's pair they hold, and stratified by the cells that hold them
    (ARC-Easy's questions among themselves, ARC-Challenge's among theirs, each stratum keeping its
    size), so every cell keeps its size in every resample."""
    net: dict[str, int] = {}
    holders: dict[str, list[str]] = {}
    ups = downs = 0
    for cell, (ids, first, second) in cells.items():
        for question, a, b in zip(ids, first, second, strict=True):
            net[question] = net.get(question, 0) + int(a) - int(b)
            holders.setdefault(question, []).append(cell)
            ups, downs = ups + (a and not b), downs + (b and not a)
    nets = np.array(list(net.values()), float)
    counts = np.array([len(holders[q]) for q in net], float)
    strata: dict[tuple[str, ...], list[int]] = {}
    for index, question in enumerate(net):
        strata.setdefault(tuple(sorted(holders[question])), []).append(index)
    members = [np.array(indices) for indices in strata.values()]
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    draws = []
    for _ in range(resamples):
        chosen = np.concatenate([m[rng.integers(0, len(m), len(m))] for m in members])
        draws.append(nets[chosen].sum() / counts[chosen].sum())
    return {
        "n_pairs": int(counts.sum()),
        "n_questions": len(nets),
        "strata": len(members),
        "up": int(ups),
        "down": int(downs),
        "difference": float(nets.sum() / counts.sum()),
        "difference_ci": [float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))],
        "p": sign_flip_p(nets.tolist(), [0.0] * len(nets), draws=resamples),
        "resamples": resamples,
    }


def median_p90(values: Sequence[float]) -> list[float] | None:
    """[median, 90th percentile]: how every report states seconds that vary per question."""
    return [float(np.median(values)), float(np.percentile(values, 90))] if len(values) else None
