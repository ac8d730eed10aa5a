"""Runs against each other, like with like: the same samples, within a budget both runs reached.

* ``paired_comparisons``: each run against the first, correction (McNemar) and genuine correction
  (gold minus placebo, per sample) within every budget both reached.
* ``secondary_family``: every chain search against the model's own tries, ``sample_matched``
  within 1, 5 and 10 evaluations and ``rank`` within 1 and 2, the genuine-correction difference
  with a paired bootstrap interval and sign-flip p; Holm-adjusted p beside the raw ones, per
  chain search (its family), bold where the adjusted p is below 0.05.
"""

from __future__ import annotations

import numpy as np

from benchmarks.analysis.reach import common_reach, found_within, twin_ran
from benchmarks.analysis.stats import (
    BOOTSTRAP_RESAMPLES,
    format_p,
    format_rate,
    holm,
    mcnemar_exact,
    paired_bootstrap_interval,
    rate,
    sign_flip_p,
)
from search.config import GUESS_SEARCH_NAMES

BUDGETS = (1, 5, 10, 25, 50, 100, 200)  # chain evaluations (or tries) after the full chain
FAMILY = (("sample_matched", (1, 5, 10)), ("rank", (1, 2)))
ALPHA = 0.05


def genuine(record: dict, budget: int) -> int:
    """+1 gold reached and not the placebo, -1 the reverse, 0 both or neither (within ``budget``)."""
    return int(found_within(record, budget)) - int(found_within(record, budget, "placebo_"))


def paired_wrong(first: list[dict], second: list[dict]) -> list[tuple[dict, dict]]:
    """The originally-wrong samples both runs hold whose twin ran in both, paired by id."""
    by_id = {r["id"]: r for r in first if not r["original_correct"] and twin_ran(r)}
    return [(by_id[r["id"]], r) for r in second if r["id"] in by_id and twin_ran(r)]


def genuine_difference(pairs: list[tuple[dict, dict]], budget: int) -> dict:
    """Mean genuine correction of each run within ``budget``, their difference with its paired
    bootstrap interval, and the sign-flip p."""
    first = [genuine(x, budget) for x, _ in pairs]
    second = [genuine(y, budget) for _, y in pairs]
    return {
        "budget": budget,
        "n": len(pairs),
        "first": float(np.mean(first)) if pairs else None,
        "second": float(np.mean(second)) if pairs else None,
        "difference": float(np.mean(first) - np.mean(second)) if pairs else None,
        "difference_ci": paired_bootstrap_interval(first, second),
        "p": sign_flip_p(first, second),
    }


def paired_comparisons(records_by_run: dict[str, list[dict]]) -> list[str]:
    """Each run against the first on the originally-wrong samples both hold, within the budget
    both reached (never a short run's final rate against a long run's)."""
    names = list(records_by_run)
    lines = []
    first_records = records_by_run[names[0]]
    by_id = {r["id"]: r for r in first_records}
    for name in names[1:]:
        records = records_by_run[name]
        common = common_reach(first_records, records)
        shared = [(by_id[r["id"]], r) for r in records if r["id"] in by_id and not r["original_correct"]]
        a = [found_within(x, common) for x, _ in shared]
        b = [found_within(y, common) for _, y in shared]
        lines.append(
            f"- {names[0]} vs {name}, {len(shared)} originally-wrong samples, within {common} evaluations "
            f"(both runs' reach): correction {format_rate(rate(a)[0])} vs {format_rate(rate(b)[0])}, "
            f"McNemar p = {format_p(mcnemar_exact(a, b))}"
        )
        pairs = paired_wrong(first_records, records)
        for budget in (b for b in BUDGETS if b <= common and pairs):
            at = genuine_difference(pairs, budget)
            lines.append(
                f"  - within {budget}: genuine correction {format_rate(at['first'])} vs {format_rate(at['second'])}, "
                f"difference {format_rate(at['difference'], at['difference_ci'])}, sign-flip p = {format_p(at['p'], BOOTSTRAP_RESAMPLES)}"
            )
    return lines


def secondary_family(records_by_run: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Per chain search, its comparisons with the model's own tries, Holm-adjusted together."""
    baselines = {
        search: records
        for records in records_by_run.values()
        if records and (search := records[0]["search"]) in GUESS_SEARCH_NAMES
    }
    families = {}
    for name, records in records_by_run.items():
        if not records or records[0]["search"] in GUESS_SEARCH_NAMES:
            continue
        rows = []
        for baseline, budgets in FAMILY:
            if baseline not in baselines:
                continue
            pairs = paired_wrong(records, baselines[baseline])
            common = common_reach(records, baselines[baseline])
            rows += [
                genuine_difference(pairs, b) | {"against": baseline} for b in budgets if b <= common and pairs
            ]
        for row, adjusted in zip(rows, holm([row["p"] for row in rows]), strict=True):
            row["p_holm"] = adjusted
        if rows:
            families[name] = rows
    return families


def family_table(families: dict[str, list[dict]]) -> list[str]:
    if not families:
        return []
    lines = [
        "| chain search | against | within | n | genuine: search | genuine: tries | difference (95% CI) | p | p (Holm) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in families.items():
        for row in rows:
            difference = format_rate(row["difference"], row["difference_ci"])
            if row["p_holm"] < ALPHA:
                difference = f"**{difference}**"
            lines.append(
                f"| {name} | {row['against']} | {row['budget']} | {row['n']} | {format_rate(row['first'])} | "
                f"{format_rate(row['second'])} | {difference} | {format_p(row['p'], BOOTSTRAP_RESAMPLES)} | {format_p(row['p_holm'], BOOTSTRAP_RESAMPLES)} |"
            )
    return lines
