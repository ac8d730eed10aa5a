"""Pruning rules against random removals of their own form, from chain-list records: accuracy
and agreement with the full chain per named chain, and the random band (range and middle 95%) of
each form and size."""

from __future__ import annotations

import numpy as np

from benchmarks.analysis.fresh_rows import SLICES, in_rows
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


def rule_point(records: list[dict], name: str, controls: list[str]) -> dict:
    """A rule's chain ``name`` against the full chain on the same questions (accuracy, the paired
    bootstrap interval of the difference, agreement) and where it stands among ``controls``."""
    gold, full_answers = np.array([record["gold"] for record in records]), answers(records, "full")
    chosen = answers(records, name)
    right, full_right = chosen == gold, full_answers == gold
    return {
        "accuracy": float(right.mean()),
        "difference": float(right.mean() - full_right.mean()),
        "difference_ci": paired_bootstrap_interval(right.astype(float), full_right.astype(float)),
        "agreement": float(np.mean(chosen == full_answers)),
        "share_of_random_below": share_of_random_below(records, name, controls),
    }


def curve_statistics(records: list[dict], sizes: list[int], draws: int, rules: list[str]) -> dict:
    """Every figure of the curves, for the table, the plot's reader and the results' README: the
    full chain's accuracy; per rule and size its accuracy, its paired bootstrap interval against
    the full chain, its agreement and where it stands among the random removals of its form; per
    form and size the random band; and each rule's size validation picks (within one point)."""
    random_names = {
        (form, n): [f"random-{form}-{n}-{d}" for d in range(draws)] for form in FORMS for n in sizes
    }
    per_rule = {}
    for rule in rules:
        form = CONTROL_OF[rule]
        by_size = {
            str(n): {"removed": n, **rule_point(records, f"{rule}-{n}", random_names[form, n])} for n in sizes
        }
        per_rule[rule] = {"control": form, "sizes": by_size, "chosen_size": chosen_size(records, rule, sizes)}
    return {
        "n_questions": len(records),
        "draws": draws,
        "full": {"accuracy": accuracy_and_agreement(records, "full")[0]},
        "rules": per_rule,
        "random": {
            form: {str(n): random_band(records, random_names[form, n]) for n in sizes} for form in FORMS
        },
    }


def split_reading_statistics(
    records: list[dict], picked: dict[str, tuple[str, int | None, list[str]]]
) -> dict:
    """The test reading of each rule at its picked size (``picked``: rule -> its chain's name, the
    size, its random controls' names; a None size was not read), on the whole split and on each
    slice of :data:`SLICES` that holds rows: the full chain's accuracy, each rule's point against
    it and among its controls, and the controls' band."""
    statistics = {}
    for slice_name, (first, last) in SLICES.items():
        rows = in_rows(records, first, last)
        if not rows:
            continue
        statistics[slice_name] = {
            "n_questions": len(rows),
            "full": {"accuracy": accuracy_and_agreement(rows, "full")[0]},
            "rules": {
                rule: None
                if n is None
                else {"removed": n, **rule_point(rows, name, controls), "random": random_band(rows, controls)}
                for rule, (name, n, controls) in picked.items()
            },
        }
    return statistics


def split_reading_table(statistics: dict) -> str:
    """:func:`split_reading_statistics` as markdown, one table a slice."""
    lines = []
    for slice_name, reading in statistics.items():
        lines += [
            f"**{slice_name}** ({reading['n_questions']} questions; full chain {reading['full']['accuracy']:.3f})",
            "",
            "| rule | removed | accuracy | − full chain (paired 95%) | agreement "
            "| random of its form: accuracy median (middle 95%) | share of random below |",
            "|---|---|---|---|---|---|---|",
        ]
        for rule, point in reading["rules"].items():
            if point is None:
                lines.append(f"| {rule} | none within one point on validation | – | – | – | – | – |")
                continue
            low, high = point["difference_ci"]
            band = point["random"]["accuracy"]
            lines.append(
                f"| {rule} | {point['removed']} | {point['accuracy']:.3f} | {point['difference']:+.3f} "
                f"({low:+.3f}–{high:+.3f}) | {point['agreement']:.3f} | {band['median']:.3f} "
                f"({band['p2.5']:.3f}–{band['p97.5']:.3f}) | {point['share_of_random_below']:.2f} |"
            )
        lines.append("")
    return "\n".join(lines)


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
