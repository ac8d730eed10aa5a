"""The README's headline table is rendered from its template and statistics files, and the
committed README holds exactly the rendered table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.reports.headlines import BEGIN, END, load_sources, readme_block, render, with_block

ROOT = Path(__file__).resolve().parents[3]
STATISTICS = {
    "all rows": {
        "exit calibration": {
            "accuracy": 0.35117,
            "vs_rival": {"difference": -0.0033, "interval": [-0.0569, 0.0636], "p": 0.00004},
        }
    },
    "n": 1172,
}


def test_placeholders_print_each_figure_in_its_form():
    template = (
        "| {{fm:all rows/exit calibration/accuracy}} | {{fm:all rows/exit calibration/vs_rival/difference|diff}} "
        "{{fm:all rows/exit calibration/vs_rival/interval|dci}}, p {{fm:all rows/exit calibration/vs_rival/p|p}} "
        "| {{fm:n|count}} | {{fm:all rows/exit calibration/vs_rival/interval/1|rate}} |"
    )
    assert (
        render(template, {"fm": STATISTICS})
        == "| 0.351 | −0.003 (−0.057–+0.064), p < 0.0001 | 1,172 | 0.064 |"
    )


def test_a_star_path_summarises_several_figures():
    cells = {
        "cells": {"a": {"d": 0.012, "p": 0.01}, "b": {"d": -0.004, "p": 0.04}, "c": {"d": 0.02, "p": 0.03}}
    }
    template = (
        "{{s:cells/*/d|drange}}; {{s:cells/*/d|range}}; p {{s:cells/*/p|prange}}; Holm ≤ {{s:cells/*/p|holm}}"
    )
    # Holm over (0.01, 0.03, 0.04): 3 x 0.01, 2 x 0.03, 1 x 0.04 kept monotone, the largest 0.06
    assert render(template, {"s": cells}) == "−0.004 to +0.020; −0.004–0.020; p 0.010–0.040; Holm ≤ 0.060"
    with pytest.raises(KeyError, match="summarises several figures"):
        render("{{s:cells/a/d|drange}}", {"s": cells})
    with pytest.raises(KeyError, match="nothing to take every entry"):
        render("{{s:cells/a/d/*|drange}}", {"s": cells})


@pytest.mark.parametrize(
    ("placeholder", "message"),
    [
        ("{{nope:n}}", "names no statistics file"),
        ("{{fm:all rows/missing}}", "no 'missing' on the path"),
        ("{{fm:n|fancy}}", "no form 'fancy'"),
        ("{{fm:all rows/exit calibration/vs_rival/interval/5}}", "interval/5"),
        ("{{fm:all rows/exit calibration/accuracy|count}}", "whole number"),
        ("{{fm:all rows/exit calibration/accuracy|dci}}", "two numbers"),
        ("{{fm:n|d-ci}}", "cannot read"),
    ],
)
def test_a_placeholder_that_names_nothing_is_an_error(placeholder, message):
    with pytest.raises(KeyError, match=message):
        render(placeholder, {"fm": STATISTICS})


def test_the_table_goes_between_the_markers_and_nowhere_else():
    readme = f"intro\n{BEGIN}\nold table\n{END}\nafter\n"
    written = with_block(readme, "| new |")
    assert written == f"intro\n{BEGIN}\n| new |\n{END}\nafter\n" and readme_block(written) == "| new |"
    with pytest.raises(ValueError, match="no headline table markers"):
        readme_block("no markers here")


def test_the_readme_holds_the_table_rendered_from_the_committed_statistics():
    template, sources = load_sources(ROOT / "docs/results/headlines")
    assert readme_block((ROOT / "README.md").read_text()) == render(template, sources).strip("\n")


def test_the_results_index_is_its_template_rendered_from_the_committed_statistics():
    template, sources = load_sources(ROOT / "docs/results/headlines", "index.md")
    assert (ROOT / "docs/results/README.md").read_text() == render(template, sources)


@pytest.mark.slow
def test_a_statistics_file_is_recomputed_from_its_records(tmp_path):
    """The field methods' SmolLM2 ARC-Easy test figures, refit from the committed records."""
    import json

    from tests.benchmarks.runs.test_search_run import script

    committed = json.loads(
        (ROOT / "docs/results/field_methods/statistics/smollm2-arc_easy-test.json").read_text()
    )
    records = committed["records"]
    done = script(
        "studies/exit_audit.py",
        *(f"--{split}={ROOT / path}" for split, path in records.items()),
        f"--statistics={tmp_path / 'again.json'}",
    )
    assert done.returncode == 0, done.stderr
    again = json.loads((tmp_path / "again.json").read_text())
    assert {k: v for k, v in again.items() if k != "records"} == {
        k: v for k, v in committed.items() if k != "records"
    }


def test_a_reports_statistics_are_its_last_json_block(tmp_path):
    from benchmarks.reports.headlines import read_statistics

    report = tmp_path / "report.md"
    report.write_text('# r\n\n```json\n{"a": 1}\n```\n\ntext\n\n```json\n{"n": 5}\n```\n')
    assert read_statistics(report) == {"n": 5}
    report.write_text("# no statistics\n")
    with pytest.raises(ValueError, match="holds no json block"):
        read_statistics(report)


@pytest.mark.slow
def test_a_search_reports_statistics_are_recomputed_from_its_records():
    """The own-tries report behind the README's reproduction row, refit from its committed records."""
    from benchmarks.analysis.search_summary import summarize_search
    from benchmarks.reports.headlines import read_statistics
    from benchmarks.reports.search_report import load_runs

    records = ROOT / "docs/results/own_tries/smollm2/records"
    runs = load_runs({name: records / f"{name}.jsonl.gz" for name in ("descent", "random")}, common=False)
    committed = read_statistics(ROOT / "docs/results/own_tries/smollm2/first500/report.md")
    again = json.loads(json.dumps({name: summarize_search(found) for name, found in runs.items()}))
    assert again == committed
