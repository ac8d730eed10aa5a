"""The calibrated equal-margin study: descent's and random chains' is-gold effects and descent less
random paired by question, on a slice of test rows, and the simulation that shows the test
calibrated on the same questions; written as JSON and markdown."""

from __future__ import annotations

import numpy as np

from benchmarks.analysis.equal_margin.calibration import (
    Perturbation,
    coverage,
    keep_rate,
    matched_noise,
    matched_search_noise,
    placebo_reach,
)
from benchmarks.analysis.equal_margin.fit import equal_margin_test, paired_difference
from benchmarks.analysis.equal_margin.units import chain_units, search_units
from benchmarks.analysis.stats import format_p, format_rate

BUDGET = 25  # "reached within 25 evaluations", the own-tries runs' budget
LENGTH_BIASES = (0.3, 1.0)  # nats per token: a mild and a strong pull toward short answers
PLANTED = 1.0  # nats added to gold's score in the recovery check


def effects(descent: list[dict], random: list[dict], *, resamples: int) -> dict:
    """The three readings and the primary paired difference."""
    units = {
        "descent per search": search_units(descent, BUDGET),
        "random per search": search_units(random, BUDGET),
        "random per chain": chain_units(random, BUDGET),
    }
    results = {name: equal_margin_test(u, resamples=resamples) for name, u in units.items()}
    results["descent - random per search"] = paired_difference(
        units["descent per search"], units["random per search"], resamples=resamples
    )
    return results


def calibration(descent: list[dict], random: list[dict], *, datasets: int, resamples: int, seed: int) -> dict:
    """Coverage of a true zero at two length pulls, with length-dependent noise, at random chains'
    and at descent's operating points, and recovery of a planted effect, per kind."""
    rng = np.random.default_rng(seed)
    mild, strong = LENGTH_BIASES
    keep = matched_noise(random, mild, BUDGET, rng)  # random chains' operating point
    steered = matched_search_noise(descent, mild, BUDGET, rng)  # descent's (its twin's placebo reach)
    settings = [
        ("per chain", random, "random", Perturbation(keep, mild)),
        ("per chain", random, "random", Perturbation(keep, strong)),
        ("per chain", random, "random", Perturbation(keep, mild, length_noise=True)),
        ("per chain", random, "random", Perturbation(keep, mild, PLANTED)),
        ("per search", descent, "descent", Perturbation(steered, mild)),
        ("per search", descent, "descent", Perturbation(steered, strong)),
        ("per search", descent, "descent", Perturbation(steered, mild, length_noise=True)),
        ("per search", descent, "descent", Perturbation(steered, mild, PLANTED)),
        ("per search", random, "random", Perturbation(keep, mild)),
    ]
    runs = [
        coverage(
            records,
            kind,
            setting,
            budget=BUDGET,
            datasets=datasets,
            resamples=resamples,
            seed=seed,
            operating_point=point,
        )
        for kind, records, point, setting in settings
    ]
    return {
        "noise_random": keep,
        "noise_descent": steered,
        "real_keep_rate": keep_rate(random, BUDGET),
        "real_placebo_reach_descent": placebo_reach(descent, BUDGET),
        "runs": runs,
    }


CALIBRATED = 0.93  # coverage a 95% interval keeps within 200 simulated data sets' own noise (about ±0.015)


def null_coverage(result: dict) -> dict:
    """How often the interval covers a true zero over the knowledge-free settings (nothing planted):
    the range and how many settings reach ``CALIBRATED``, the figures the README quotes."""
    null = [run["coverage"] for run in result["runs"] if run["perturbation"]["planted"] == 0]
    return {
        "settings": len(null),
        "min": min(null),
        "max": max(null),
        f"at least {CALIBRATED}": sum(value >= CALIBRATED for value in null),
    }


def effect_line(name: str, test: dict | None) -> str:
    if test is None:
        return f"| {name} | – | – | – |"
    if "difference" in test:
        value, interval, p = test["difference"], test["difference_ci"], test["difference_p"]
        size = f"{test['n_questions']} questions"
    else:
        value, interval, p = test["effect"], test["effect_ci"], test["effect_p"]
        size = f"{test['n_units']:,} units, {test['n_questions']} questions ({test['n_gold_units']:,} gold)"
    return f"| {name} | {format_rate(value, interval)} | {format_p(p, test['resamples'])} | {size} |"


def effects_table(title: str, results: dict) -> list[str]:
    return [
        f"**{title}**",
        "",
        "| reading | average is-gold effect (95% CI) | p | units |",
        "|---|---|---|---|",
        *(effect_line(name, test) for name, test in results.items()),
        "",
    ]


def calibration_table(result: dict) -> list[str]:
    lines = [
        f"Noise matched to random chains' operating point (the real random chains keep the full chain's answer "
        f"on {result['real_keep_rate']:.3f} of wrong questions' chains): {result['noise_random']} nats; to descent's "
        f"(its twin reaches the placebo within 25 on {result['real_placebo_reach_descent']:.3f}): {result['noise_descent']} nats.",
        "",
        "| kind | operating point | length pull (nats/token) | noise grows with length | planted (nats) | true effect | mean estimate | 95% CI covers the truth | rejects zero | mean CI width |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        setting = run["perturbation"]
        lines.append(
            f"| {run['kind']} | {run.get('operating_point', '')} | {setting['length_bias']} | "
            f"{'yes' if setting.get('length_noise') else 'no'} | {setting['planted']} | {run['true_effect']:+.4f} | "
            f"{run['mean_estimate']:+.4f} | {run['coverage']:.3f} ({run['datasets']} data sets) | "
            f"{run['rejects_zero']:.3f} | {run['mean_interval_width']:.3f} |"
        )
    return [*lines, ""]
