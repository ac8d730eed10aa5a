"""Pruning rules against random removals of their own form, from chain-list records: accuracy
and agreement with the full chain per named chain, and the random band (range and middle 95%) of
each form and size."""

from __future__ import annotations

import numpy as np

from benchmarks.analysis.stats import paired_bootstrap_interval
from search.pruning import CONTROL_OF, FORMS


def answers(records: list[dict], name: str) -> np.ndarray:
    return np.array([int(np.argmax(record["scores"][name])) for record in records])


def accuracy_and_agreement(records: list[dict], name: str) -> tuple[float, float]:
    gold = np.array([record["gold"] for record in records])
    chosen, full = answers(records, name), answers(records, "full")
    return float(np.mean(chosen == gold)), float(np.mean(chosen == full))


def random_band(records: list[dict], names: list[str]) -> dict[str, dict[str, float]]:
    """Over random removals ``names`` (one form, one size): accuracy and agreement's minimum,
    2.5th, 50th and 97.5th percentiles and maximum."""
    if not names:
        raise ValueError("a random band needs at least one random removal")
    values = np.array([accuracy_and_agreement(records, name) for name in names])
    band = {}
    for column, measure in enumerate(("accuracy", "agreement")):
        low, middle_low, middle, middle_high, high = np.percentile(values[:, column], [0, 2.5, 50, 97.5, 100])
        band[measure] = {"min": low, "p2.5": middle_low, "median": middle, "p97.5": middle_high, "max": high}
    return band


def chosen_size(records: list[dict], rule: str, sizes: list[int], *, tolerance: float = 0.01) -> int | None:
    """The largest removal whose accuracy is within ``tolerance`` of the full chain's (validation
    picks it; the test split is read at it once); None when no size keeps the accuracy."""
    full = accuracy_and_agreement(records, "full")[0]
    kept = [n for n in sizes if accuracy_and_agreement(records, f"{rule}-{n}")[0] >= full - tolerance - 1e-12]
    return max(kept) if kept else None


def share_of_random_below(records: list[dict], name: str, random_names: list[str]) -> float:
    """The share of random removals whose accuracy is below the rule's (ties count half): where
    the rule stands in its control's distribution."""
    accuracy = accuracy_and_agreement(records, name)[0]
    others = np.array([accuracy_and_agreement(records, other)[0] for other in random_names])
    return float(np.mean(others < accuracy) + 0.5 * np.mean(others == accuracy))


def curve_statistics(records: list[dict], sizes: list[int], draws: int, rules: list[str]) -> dict:
    """Every figure of the curves, for the table, the plot's reader and the results' README: the
    full chain's accuracy; per rule and size its accuracy, its paired bootstrap interval against
    the full chain, its agreement and where it stands among the random removals of its form; per
    form and size the random band; and each rule's size validation picks (within one point)."""
    gold, full_answers = np.array([record["gold"] for record in records]), answers(records, "full")
    full_right = full_answers == gold
    random_names = {
        (form, n): [f"random-{form}-{n}-{d}" for d in range(draws)] for form in FORMS for n in sizes
    }
    per_rule = {}
    for rule in rules:
        form = CONTROL_OF[rule]
        by_size = {}
        for n in sizes:
            name = f"{rule}-{n}"
            chosen = answers(records, name)
            right = chosen == gold
            by_size[str(n)] = {
                "removed": n,
                "accuracy": float(right.mean()),
                "difference": float(right.mean() - full_right.mean()),
                "difference_ci": paired_bootstrap_interval(right.astype(float), full_right.astype(float)),
                "agreement": float(np.mean(chosen == full_answers)),
                "share_of_random_below": share_of_random_below(records, name, random_names[form, n]),
            }
        per_rule[rule] = {"control": form, "sizes": by_size, "chosen_size": chosen_size(records, rule, sizes)}
    return {
        "n_questions": len(records),
        "draws": draws,
        "full": {"accuracy": float(full_right.mean())},
        "rules": per_rule,
        "random": {
            form: {str(n): random_band(records, random_names[form, n]) for n in sizes} for form in FORMS
        },
    }


def curves_table(statistics: dict) -> str:
    """The curves as a markdown table (rows by size: each rule, then each form's random band)."""
    lines = [
        f"{statistics['n_questions']} questions; random bands over {statistics['draws']} removals: "
        "median (middle 95%, range)",
        "",
        "| removed | method | accuracy | − full chain (paired 95%) | agreement with the full chain |",
        "|---|---|---|---|---|",
        f"| 0 | full chain | {statistics['full']['accuracy']:.3f} | – | 1.000 |",
    ]
    sizes = next(iter(statistics["random"].values()))
    for size in sizes:
        for rule, curve in statistics["rules"].items():
            point = curve["sizes"][size]
            low, high = point["difference_ci"]
            lines.append(
                f"| {size} | {rule} (control: {curve['control']}) | {point['accuracy']:.3f} "
                f"| {point['difference']:+.3f} ({low:+.3f}–{high:+.3f}) | {point['agreement']:.3f} |"
            )
        for form, bands in statistics["random"].items():
            cells = [
                f"{b['median']:.3f} ({b['p2.5']:.3f}–{b['p97.5']:.3f}, {b['min']:.3f}–{b['max']:.3f})"
                for b in (bands[size]["accuracy"], bands[size]["agreement"])
            ]
            lines.append(f"| {size} | random, {form} | {cells[0]} | – | {cells[1]} |")
    return "\n".join(lines) + "\n"
