"""The README's headline table, rendered from a template and committed statistics files: a figure
in the table is a placeholder ``{{source:path/to/value|form}}`` that names a statistics file (by
its short name in the sources manifest), the path of keys inside it (``/``-separated; list
positions as numbers; ``*`` takes every entry at that level, for the forms that summarise several
figures), and how to print it. Nothing in a rendered figure is typed by hand; CI
renders the table and compares it with the README's, figure for figure."""

from __future__ import annotations

import json
import re
from pathlib import Path

from benchmarks.analysis.stats import format_p, holm

PLACEHOLDER = re.compile(r"\{\{\s*([\w.-]+):([^|}]+?)(?:\|(\w+))?\s*\}\}")
BEGIN = "<!-- headline table: rendered by `scripts/tables.py headline` from docs/results/headlines/ -->"
END = "<!-- end of headline table -->"


def _interval(value: list[float], signed: bool) -> str:
    low, high = _pair(value)
    return (
        f"({low:+.3f}–{high:+.3f})".replace("-", "−")
        if signed
        else f"({low:.3f}–{high:.3f})".replace("-", "−")
    )


def _whole(value) -> int:
    if float(value) != int(value):
        raise ValueError(f"a count must be a whole number, not {value!r}")
    return int(value)


def _pair(value) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"an interval is two numbers, not {value!r}")
    return value[0], value[1]


def _signed(value: float) -> str:
    return f"{value:+.3f}".replace("-", "−")


def _several(form):
    """A form that summarises the figures a ``*`` path found (a range, an adjusted maximum)."""

    def summarise(values):
        if not isinstance(values, list) or not values:
            raise KeyError("this form summarises several figures: give a path with '*'")
        return form([float(value) for value in values])

    return summarise


FORMS = {
    "rate": lambda v: f"{v:.3f}".replace("-", "−"),
    "diff": _signed,
    "ci": lambda v: _interval(v, signed=False),
    "dci": lambda v: _interval(v, signed=True),
    "p": lambda v: format_p(v),
    # a p from 10,000 question sign flips or resamples (the pooled figures'), at that resolution
    "p10000": lambda v: format_p(v, 10_000),
    "count": lambda v: f"{_whole(v):,}",
    "tenths": lambda v: f"{v:.1f}".replace("-", "−"),  # nats, layers where a report reads them so
    "hundredths": lambda v: f"{v:.2f}".replace("-", "−"),  # mean layers, as the faithful reports print them
    "hci": lambda v: "({:.2f}–{:.2f})".format(*_pair(v)).replace("-", "−"),  # an interval of mean layers
    # over several figures (a '*' path or a list): their signed range, unsigned range, p range,
    # the largest of their Holm-adjusted p values, and the largest figure
    "drange": _several(lambda v: f"{_signed(min(v))} to {_signed(max(v))}"),
    "range": _several(lambda v: f"{min(v):.3f}–{max(v):.3f}".replace("-", "−")),
    "prange": _several(lambda v: f"{format_p(min(v))}–{format_p(max(v))}"),
    "holm": _several(lambda v: format_p(max(holm(v)))),
    "largest": _several(lambda v: f"{max(v):.3f}".replace("-", "−")),
}


def lookup(statistics: dict, path: str):
    """The value at a ``/``-separated path; a ``*`` key maps the rest of the path over every entry
    at that level (a dict's values in order, a list's items) and gives a list."""
    return _lookup(statistics, path.strip().split("/"), path)


def _lookup(value, keys: list[str], path: str):
    for position, key in enumerate(keys):
        if key == "*":
            if not isinstance(value, (dict, list)):
                raise KeyError(f"nothing to take every entry of at '*' on the path {path!r}")
            entries = list(value.values()) if isinstance(value, dict) else value
            return [_lookup(entry, keys[position + 1 :], path) for entry in entries]
        if isinstance(value, list):
            value = value[int(key)]
        elif isinstance(value, dict) and key in value:
            value = value[key]
        else:
            raise KeyError(f"no {key!r} on the path {path!r}")
    return value


def render(template: str, sources: dict[str, dict]) -> str:
    """The template with every placeholder replaced; an unknown source, path or form is an error
    naming it."""

    def figure(match: re.Match) -> str:
        source, path, form = match.group(1), match.group(2), match.group(3) or "rate"
        if source not in sources:
            raise KeyError(
                f"placeholder {match.group(0)!r} names no statistics file; known: {sorted(sources)}"
            )
        if form not in FORMS:
            raise KeyError(f"placeholder {match.group(0)!r}: no form {form!r}; choose from {sorted(FORMS)}")
        try:
            return FORMS[form](lookup(sources[source], path))
        except (KeyError, IndexError, ValueError, TypeError) as error:  # a path or a form that misses
            reason = error.args[0] if error.args else type(error).__name__
            raise KeyError(f"placeholder {match.group(0)!r} (form {form}): {reason}") from None

    rendered = PLACEHOLDER.sub(figure, template)
    if "{{" in rendered or "}}" in rendered:  # a malformed placeholder would pass as text
        line = next(line for line in rendered.splitlines() if "{{" in line or "}}" in line)
        raise KeyError(f"a placeholder the renderer cannot read is left in: {line.strip()[:200]!r}")
    return rendered


REPORT_STATISTICS = re.compile(r"```json\n(.*?)```", flags=re.DOTALL)


def read_statistics(file: Path) -> dict:
    """A statistics file: JSON, or a report (``.md``) whose last ``json`` block holds the statistics
    its tables were written from (``scripts/report.py`` ends every report with its summaries)."""
    if file.suffix != ".md":
        return json.loads(file.read_text())
    blocks = REPORT_STATISTICS.findall(file.read_text())
    if not blocks:
        raise ValueError(f"{file} holds no json block of statistics")
    return json.loads(blocks[-1])


def load_sources(folder: Path, template: str = "table.md") -> tuple[str, dict[str, dict]]:
    """A template of the folder (the README's table, or ``index.md``: the results index) and the
    statistics files (``sources.json``: short name -> path from the repository root, which is the
    folder's grandparent's parent)."""
    root = folder.resolve().parents[2]
    manifest = json.loads((folder / "sources.json").read_text())
    sources = {}
    for name, path in manifest.items():
        file = root / path
        if not file.is_file():
            raise FileNotFoundError(f"statistics file {path} (source {name!r}) not found")
        sources[name] = read_statistics(file)
    return (folder / template).read_text(), sources


def readme_block(readme: str) -> str:
    """The rendered table in the README, between its markers."""
    if BEGIN not in readme or END not in readme:
        raise ValueError("the README has no headline table markers")
    return readme.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")


def with_block(readme: str, table: str) -> str:
    before, rest = readme.split(BEGIN, 1)
    return before + BEGIN + "\n" + table.strip("\n") + "\n" + END + rest.split(END, 1)[1]
