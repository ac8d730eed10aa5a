"""Intervals and paired tests for the rates the reports print.

* a proportion: Wilson score interval (95%), which stays inside [0, 1] and behaves at 0 and n;
* a difference of two rates on the same samples: percentile paired bootstrap (fixed seed), and
  the exact McNemar test on the discordant pairs (a two-sided binomial test with p = 1/2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Z95 = 1.959963984540054
BOOTSTRAP_SEED = 0
BOOTSTRAP_RESAMPLES = 10_000


def wilson_interval(successes: float, n: int, z: float = Z95) -> list[float] | None:
    """[low, high] of a proportion ``successes / n``; None when there are no samples."""
    if n == 0:
        return None
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
    """95% interval of mean(first) - mean(second), resampling the samples (pairs kept together)."""
    differences = paired_differences(first, second)
    if not len(differences):
        return None
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    draws = rng.integers(0, len(differences), size=(resamples, len(differences)))
    means = differences[draws].mean(axis=1)
    return [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]


def sign_flip_p(
    first: Sequence[float], second: Sequence[float], *, draws: int = BOOTSTRAP_RESAMPLES
) -> float | None:
    """Two-sided p-value that mean(first - second) is 0: the paired differences' signs are
    exchangeable under that null (Monte Carlo over random sign flips, fixed seed)."""
    differences = paired_differences(first, second)
    if not len(differences):
        return None
    observed = abs(differences.mean())
    signs = np.random.default_rng(BOOTSTRAP_SEED).choice((-1.0, 1.0), size=(draws, len(differences)))
    extreme = np.abs((signs * differences).mean(axis=1)) >= observed - 1e-12
    return float((extreme.sum() + 1) / (draws + 1))


def mcnemar_exact(first: Sequence[bool], second: Sequence[bool]) -> float | None:
    """Two-sided exact McNemar p-value of paired outcomes: does ``first`` succeed where ``second``
    fails more often than the reverse? None without samples; 1.0 without discordant pairs."""
    if len(first) != len(second):
        raise ValueError(f"paired samples differ in length: {len(first)} vs {len(second)}")
    if not first:
        return None
    only_first = sum(a and not b for a, b in zip(first, second, strict=True))
    only_second = sum(b and not a for a, b in zip(first, second, strict=True))
    n, k = only_first + only_second, min(only_first, only_second)
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


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
