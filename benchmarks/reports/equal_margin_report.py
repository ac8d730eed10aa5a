"""The equal-margin test's part of a search report: per search for runs with a placebo twin, per
chain for random chains; the fit with its intervals, what the interval still allows, and the
binned table beside it."""

from __future__ import annotations

from benchmarks.analysis.equal_margin.fit import equal_margin_test
from benchmarks.analysis.equal_margin.units import Units, binned_table, chain_units, search_units
from benchmarks.analysis.reach import reach, with_twin
from benchmarks.analysis.stats import format_p, format_rate

EQUAL_MARGIN_BUDGET = 25  # the primary figure reads "reached within 25 evaluations"
# A search report is written after every run: 1,000 resamples keep it to seconds. Published figures
# come from scripts/studies/equal_margin.py with 10,000.
REPORT_RESAMPLES = 1000


def equal_margin_results(records_by_run: dict[str, list[dict]]) -> dict[str, dict]:
    """``name (per search|per chain)`` -> the test within min(25, the run's reach), with its bins."""
    results = {}
    for name, records in records_by_run.items():
        if not records or "full_scores" not in records[0] or "continuation_ids" not in records[0]:
            continue  # records from before the full chain's ranking and choice tokens were kept
        budget = min(EQUAL_MARGIN_BUDGET, reach(records))
        kinds = {"per search": search_units(records, budget)} if with_twin(records) else {}
        if records[0]["search"] == "random" and "predictions" in records[0]:
            kinds["per chain"] = chain_units(records, budget)
        for kind, units in kinds.items():
            try:
                test = equal_margin_test(units, resamples=REPORT_RESAMPLES)
            except ValueError as error:  # a report of a few questions: too few targets to place the spline
                results[f"{name} ({kind})"] = {"not_fit": str(error)}
                continue
            if test is not None:
                results[f"{name} ({kind})"] = test | {"budget": budget, "bins": binned_table(units)}
    return results


def _p_text(test: dict) -> str:
    text = format_p(test["effect_p"], test["resamples"])
    return text if text.startswith("<") else f"= {text}"


def _bin_line(row: dict) -> str:
    low, high = row["gap"]
    span = (
        f"gap < {high:.2f}"
        if low == float("-inf")
        else (f"gap ≥ {low:.2f}" if high == float("inf") else f"{low:.2f}–{high:.2f}")
    )
    cells = [f"{reached}/{n} = {reached / n:.2f}" if n else "–" for reached, n in (row["gold"], row["other"])]
    return f"| {row['rank']} | {span} | {cells[0]} | {cells[1]} |"


def describe(name: str, test: dict) -> list[str]:
    if "not_fit" in test:
        return [f"**{name}**: not fit on these records ({test['not_fit']}).", ""]
    low, high = test["effect_ci"]
    return [
        f"**{name}**, reached within {test['budget']}: {test['n_units']} targets on {test['n_questions']} "
        f"questions ({test['n_gold_units']} gold). Is-gold coefficient {format_rate(test['coefficient'], test['coefficient_ci'])}; "
        f"average effect on the chance of reaching {format_rate(test['effect'], test['effect_ci'])}, "
        f"p {_p_text(test)}. The interval allows an is-gold effect from {low:+.3f} to {high:+.3f}.",
        "",
        "| full-chain rank | score gap to its answer | gold reached | other targets reached |",
        "|---|---|---|---|",
        *(_bin_line(row) for row in test["bins"]),
        "",
    ]


def equal_margin_section(records_by_run: dict[str, list[dict]]) -> list[str]:
    results = equal_margin_results(records_by_run)
    if not results:
        return []
    lines = [
        "## The equal-margin test",
        "",
        "Is a target reached more often when it is gold than when it is not, at equal full-chain rank,",
        "equal score gap to the full chain's answer and equal length? Per search (gold by the search,",
        "the placebo by its twin, on originally-wrong questions): logistic model of reached on is-gold,",
        "rank, a natural cubic spline of the gap (4 df) and the target's length in tokens centred within",
        "the question. Per chain (random chains, originally-wrong questions): conditional logit of which",
        "choice a chain that leaves the full chain's answer lands on. Average effect over gold targets;",
        f"95% percentile-bootstrap intervals resampling questions ({REPORT_RESAMPLES:,} resamples, seed 0;",
        "published figures: scripts/studies/equal_margin.py, 10,000). Model and calibration: docs/results/equal_margin.",
        "",
    ]
    for name, test in results.items():
        lines += describe(name, test)
    return lines


__all__ = ["Units", "equal_margin_results", "equal_margin_section"]
