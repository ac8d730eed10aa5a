"""The audit's headline table, in the README's form and by the README's renderer: each row a
template of placeholders (``{{source:path|form}}``) on the statistics the audit's stages wrote, the
search report's ``json`` block and the label-free policies' and field methods' statistics files,
rendered by :func:`benchmarks.reports.headlines.render`. A row is written where its stages ran."""

from __future__ import annotations

from benchmarks.reports.headlines import render

HEADER = [
    "| question | data | result (95% CI) | random chains | placebo twin | model's own guesses |",
    "|---|---|---|---|---|---|",
]
OWN_TRIES = ("rank", "sample", "sample_matched")
SLICES = {"all rows": "the audit's test questions", "rows 500+": "rows 500+"}


def _genuine(search: str) -> str:
    path = f"search:{search}/placebo/genuine_correction"
    return f"genuine {{{{{path}}}}} {{{{{path}_ci|ci}}}}"


def _own_tries(searches: dict) -> str:
    parts = []
    if "rank" in searches:
        parts.append("runner-up in one try: {{search:rank/placebo/by_budget/1/genuine_correction}}")
    for name in ("sample", "sample_matched"):
        if name in searches:
            parts.append(f"`{name}` {_genuine(name)}")
    return "; ".join(parts) or "–"


def search_rows(searches: dict) -> list[str]:
    """A row per chain search: its genuine correction (gold less a placebo of equal rank) beside
    random chains', its gold and placebo rates, and the model's own tries at the same budget."""
    rows = []
    random = _genuine("random") if "random" in searches else "–"
    for name in searches:
        if name in OWN_TRIES or name == "random":
            continue
        summary = f"search:{name}"
        rows.append(
            f"| Does `{name}` correct for real? | {{{{{summary}/placebo/n_placebo_pairs|count}}}} wrong questions "
            f"with a placebo, of {{{{{summary}/n|count}}}}; {{{{{summary}/mean_evaluations|tenths}}}} evaluations "
            "used a question (mean) | "
            f"{_genuine(name)} | {random} | gold {{{{{summary}/placebo/paired_correction_rate}}}} vs placebo "
            f"{{{{{summary}/placebo/placebo_correction_rate}}}} | {_own_tries(searches)} |"
        )
    return rows


def _against(source: str, policy: str, slices: dict, key: str) -> str:
    return "; ".join(
        f"{label} {{{{{source}:{part}/{policy}/{key}/difference|diff}}}} "
        f"{{{{{source}:{part}/{policy}/{key}/interval|dci}}}}, p = {{{{{source}:{part}/{policy}/{key}/p|p}}}}"
        for part, label in SLICES.items()
        if part in slices
    )


def policy_rows(policies: dict) -> list[str]:
    """The label-free policies against the full chain, on the test questions and on rows 500+."""
    rows = []
    for policy in (name for name in policies.get("all rows", {}) if name != "full chain"):
        rows.append(
            f"| Does the label-free {policy} beat the full chain? | {{{{policies:all rows/full chain/n|count}}}} "
            f"test questions | {_against('policies', policy, policies, 'vs_full')} | – | – | – |"
        )
    return rows


def field_rows(field: dict) -> list[str]:
    """Every exit stacked into the calibration against the calibration on the final layer."""
    if "exit calibration" not in field.get("all rows", {}):
        return []
    return [
        "| Does any layer know what the final layer does not? | {{field:all rows/full chain/n|count}} test "
        f"questions | exit calibration − calibration: {_against('field', 'exit calibration', field, 'vs_rival')} "
        "| – | – | – |"
    ]


def headline_lines(sources: dict[str, dict]) -> list[str]:
    """The rendered table (empty where no stage wrote what a row reads); a row whose figures its
    stages did not write (a search run without its placebo twin) is left out with the reason, so a
    finished audit's document is never lost to one row."""
    rows = [
        *search_rows(sources.get("search", {})),
        *policy_rows(sources.get("policies", {})),
        *field_rows(sources.get("field", {})),
    ]
    rendered, missing = [], []
    for row in rows:
        try:
            rendered.append(render(row, sources))
        except KeyError as error:
            missing.append(f"- a row left out: {error.args[0]}")
    return [*HEADER, *rendered, *([""] + missing if missing else [])] if rendered or missing else []
