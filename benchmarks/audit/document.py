"""``audit.md``: what the audit's stages found, from their records: a headline table in the README's
form (rendered from the statistics the stages wrote, by the README's renderer), the searches beside
their placebo twins, random chains and the model's own tries (the search report), the full chain
and the calibration on test, whole split and rows 500+, and the seconds and machine of every
stage."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.analysis.policy_gains import sliced_rows, sliced_statistics
from benchmarks.audit.headline import headline_lines
from benchmarks.audit.settings import AuditSettings
from benchmarks.audit.stages import SKIPPED_FILE, STAGE_FILE, Stage
from benchmarks.machine import machine_state
from benchmarks.reports.headlines import read_statistics
from benchmarks.reports.policy_table import rows_markdown
from benchmarks.reports.search_report import write_report
from benchmarks.results import load_records, write_json

QUICK_CAVEAT = (
    "A first look: a few dozen test questions give intervals about ±15 points wide; "
    "`audit=standard` or `audit=full` for readings."
)


def stage_lines(stages: list[Stage], root: Path) -> list[str]:
    lines = ["| stage | questions | seconds (this run or when it ran) |", "|---|---|---|"]
    for stage in stages:
        marker = root / stage.name / STAGE_FILE
        seconds = json.loads(marker.read_text())["seconds"] if marker.is_file() else None
        lines.append(
            f"| {stage.name} | {stage.questions or '–'} | {'–' if seconds is None else f'{seconds:.1f}'} |"
        )
    return lines


def report_lines(runs: dict[str, Path], folder: Path) -> list[str]:
    """The search report of ``runs`` written to ``folder``, as lines of audit.md: its title and JSON
    dump left out, its plots' links pointing into the folder."""
    body = write_report(runs, folder).read_text().split("```json")[0].rstrip()
    return body.replace("](", f"]({folder.name}/").splitlines()[1:]


def search_section(stages: list[Stage], root: Path) -> list[str]:
    searched = [s.name for s in stages if s.name.startswith("search-") and s.name != "search-faithful"]
    skipped = [name for name in searched if (root / name / SKIPPED_FILE).is_file()]
    runs = {name.removeprefix("search-"): root / name for name in searched if name not in skipped}
    lines = ["## Searches, their placebo twins, random chains and the model's own tries", ""]
    for name in skipped:
        reason = json.loads((root / name / SKIPPED_FILE).read_text())["reason"]
        lines += [f"- **{name.removeprefix('search-')}** not run: {reason}", ""]
    if runs:
        lines += report_lines(runs, root / "report")
    return lines if runs or skipped else []


def faithful_section(root: Path) -> list[str]:
    """Faithful depth measures the full chain's own answer, not gold: its report stands apart."""
    if not (root / "search-faithful" / "results.jsonl").is_file():
        return []
    return [
        "## Faithful depth (no answer key) beside its reach control",
        "",
        *report_lines({"faithful": root / "search-faithful"}, root / "faithful-report"),
    ]


POLICY_FOLDERS = {  # each label-free policy's test records, in the audit's run folder
    "full chain": "full-test",
    "calibration": "calibration/test",
    "static chain": "static-test",
    "router": "router-test",
}


def policy_runs(root: Path) -> dict[str, list[dict]]:
    """The label-free policies' test records beside the full chain's (none before the calibration)."""
    if not (root / "calibration" / "test").is_dir():
        return {}
    return {
        name: load_records(root / folder)
        for name, folder in POLICY_FOLDERS.items()
        if (root / folder / "results.jsonl").is_file()
    }


def policy_rival(runs: dict[str, list[dict]]) -> str | None:
    return "calibration" if len(runs) > 2 else None


def policy_section(runs: dict[str, list[dict]], sliced: dict[str, list[dict]]) -> list[str]:
    if not runs:
        return []
    return [
        "## Label-free policies on test (learned on train, chosen on validation)",
        "",
        "The calibration rescores the full chain's choice scores (ridge chosen on validation); the static "
        "chain is raced on train and its path stopped on validation; the router (Dr.LLM's form) is "
        "trained toward the shortest gold chains a search found on train questions.",
        "",
        rows_markdown(sliced, full="full chain", rival=policy_rival(runs)),
    ]


def field_methods_section(root: Path) -> list[str]:
    table = root / "field-methods" / "table.md"
    if not table.is_file():
        return []
    return [
        "## The field's depth methods without an answer key (from every exit's scores)",
        "",
        "acc_norm and domain-conditional PMI read the final layer alone; DoLa contrasts it with a premature "
        "layer (static: chosen on validation); the exit calibration stacks every earlier exit into the "
        "calibration. Holm over the methods against the full chain and, apart, against the calibration.",
        "",
        table.read_text().rstrip(),
    ]


def headline_sources(
    root: Path, policies: dict[str, list[dict]], sliced: dict[str, list[dict]]
) -> dict[str, dict]:
    """The statistics a headline row reads, written into ``statistics/`` where computed here: the
    search report's summaries, the policies' and the field methods' sliced statistics."""
    sources = {}
    if (root / "report" / "report.md").is_file():
        sources["search"] = read_statistics(root / "report" / "report.md")
    if policies:
        sources["policies"] = sliced_statistics(sliced)
        (root / "statistics").mkdir(exist_ok=True)
        records = {"records": {name: POLICY_FOLDERS[name] for name in policies}}  # within the run folder
        write_json(root / "statistics" / "policies.json", sources["policies"] | records)
    if (root / "field-methods" / "statistics.json").is_file():
        sources["field"] = json.loads((root / "field-methods" / "statistics.json").read_text())
    return sources


def write_audit(settings: AuditSettings, stages: list[Stage], root: Path, *, model: str) -> Path:
    machine = machine_state()
    searches = search_section(stages, root)  # writes the search report its headline rows read
    policies = policy_runs(root)
    sliced = sliced_rows(policies, full="full chain", rival=policy_rival(policies)) if policies else {}
    headline = headline_lines(headline_sources(root, policies, sliced))
    counts = ", ".join(f"{split} {n if n is not None else 'all'}" for split, n in settings.questions.items())
    lines = [
        f"# Audit: {model} on {settings.task.benchmark} ({settings.preset})",
        "",
        f"Questions: {counts}; seed {settings.seed}; written on {machine.get('cpus')} CPUs at load "
        f"{machine.get('load_1m')}. Rows 500+ of test are the rows never used in development; a table "
        "shows them beside the whole split where the run reaches them.",
        "",
        *([QUICK_CAVEAT, ""] if settings.preset == "quick" else []),
        *(["## Headline", "", *headline, ""] if headline else []),
        *stage_lines(stages, root),
        "",
        *searches,
        "",
        *faithful_section(root),
        "",
        *policy_section(policies, sliced),
        "",
        *field_methods_section(root),
    ]
    out = root / "audit.md"
    out.write_text("\n".join(lines).rstrip() + "\n")
    return out
