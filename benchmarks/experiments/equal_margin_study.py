"""The calibrated equal-margin study: descent's and random chains' is-gold effects and descent less
random paired by question, on a slice of test rows, and the simulation that shows the test
calibrated on the same questions; written as JSON and markdown."""

from __future__ import annotations

import numpy as np

from benchmarks.experiments.equal_margin import (
    chain_units,
    equal_margin_test,
    paired_difference,
    search_units,
)
from benchmarks.experiments.equal_margin_calibration import Perturbation, coverage, keep_rate, matched_noise
from benchmarks.experiments.stats import format_p, format_rate

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
    """Coverage of a true zero at two length pulls, and recovery of a planted effect, per kind."""
    noise = matched_noise(random, LENGTH_BIASES[0], BUDGET, np.random.default_rng(seed))
    settings = [Perturbation(noise, bias) for bias in LENGTH_BIASES] + [
        Perturbation(noise, LENGTH_BIASES[0], PLANTED)
    ]
    runs = [
        coverage(records, kind, setting, budget=BUDGET, datasets=datasets, resamples=resamples, seed=seed)
        for setting in settings
        for kind, records in (("per chain", random), ("per search", descent))
    ]
    return {"noise": noise, "real_keep_rate": keep_rate(random, BUDGET), "runs": runs}


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
        f"Noise matched to the real random chains' keep rate ({result['real_keep_rate']:.3f} of chains keep the "
        f"full chain's answer on wrong questions): {result['noise']} nats.",
        "",
        "| kind | length pull (nats/token) | planted (nats) | true effect | mean estimate | 95% CI covers the truth | rejects zero | mean CI width |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        setting = run["perturbation"]
        lines.append(
            f"| {run['kind']} | {setting['length_bias']} | {setting['planted']} | {run['true_effect']:+.4f} | "
            f"{run['mean_estimate']:+.4f} | {run['coverage']:.3f} ({run['datasets']} data sets) | "
            f"{run['rejects_zero']:.3f} | {run['mean_interval_width']:.3f} |"
        )
    return [*lines, ""]
