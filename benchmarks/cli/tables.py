"""Print the project's tables from records: evaluation accuracy, label-free policies, a cascade.

    python scripts/tables.py accuracy outputs/full_chain/*/ --out docs/results/full_chain/accuracy.md
    python scripts/tables.py policy "full chain=outputs/full/test" static=outputs/static/test \
        calibration=outputs/calibration/test --full "full chain" --rival calibration --out table.md
    python scripts/tables.py cascade outputs/router/validation outputs/full/validation \
        --levels 0 0.2 0.5 0.8 --out table.md

``accuracy``: scripts/evaluate.py run directories, one row each. ``policy``: NAME=PATH of
scripts/evaluate.py runs (a run directory, or its results.jsonl, .jsonl.gz), paired on the questions
every run answered, printed for those rows and again for rows 500 and later of the split (the rows
never used in development), each with its own Holm; ``--whole-only`` prints the first alone.
``headline``: the README's headline table rendered from docs/results/headlines/ (its template and
the statistics files it names), checked against or written into the README; ``index``: the results
index (docs/results/README.md) rendered the same way from docs/results/headlines/index.md.
``cascade``: a draft policy's answer where its choice margin reaches a level, else the full chain's
(both evaluate.py runs on the same questions; no answer key), then the draft's agreement by the
full chain's own margin.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.analysis.cascade import agreement_by_full_margin, cascade_rows
from benchmarks.analysis.policy_gains import policy_rows, sliced_rows, sliced_statistics
from benchmarks.reports.accuracy_table import accuracy_table
from benchmarks.reports.cascade_table import cascade_markdown, full_margin_markdown
from benchmarks.reports.headlines import load_sources, readme_block, render, with_block
from benchmarks.reports.policy_table import policy_markdown, sliced_markdown
from benchmarks.results import load_records
from benchmarks.runs.session import emit_table, named_path


def accuracy(args: argparse.Namespace) -> str:
    missing = [str(run) for run in args.runs if not (run / "summary.json").is_file()]
    if missing:
        raise SystemExit(f"no summary.json in {', '.join(missing)}: not an evaluation run, or not finished")
    return accuracy_table([json.loads((run / "summary.json").read_text()) for run in args.runs])


def policy(args: argparse.Namespace) -> str:
    runs = dict(args.runs)
    for name in filter(None, (args.full, args.rival)):
        if name not in runs:
            raise SystemExit(f"error: no run named {name!r}; the runs are {', '.join(runs)}")
    records = {name: load_records(path) for name, path in runs.items()}
    if args.whole_only:
        rows = policy_rows(records, full=args.full, rival=args.rival)
        return policy_markdown(rows, full=args.full, rival=args.rival)
    if args.statistics is not None:
        found = sliced_statistics(sliced_rows(records, full=args.full, rival=args.rival))
        found["records"] = {name: str(path) for name, path in runs.items()}
        args.statistics.parent.mkdir(parents=True, exist_ok=True)
        args.statistics.write_text(json.dumps(found, indent=1) + "\n")
    return sliced_markdown(records, full=args.full, rival=args.rival)


def cascade(args: argparse.Namespace) -> str:
    draft, full = load_records(args.draft), load_records(args.full)
    table = cascade_markdown(cascade_rows(draft, full, args.levels))
    return table + "\n" + full_margin_markdown(agreement_by_full_margin(draft, full))


def headline(args: argparse.Namespace) -> str:
    """The README's headline table rendered from its template and statistics files; with
    ``--check``, an error unless the README holds exactly it; with ``--write``, put into the README."""
    template, sources = load_sources(args.folder)
    table = render(template, sources).strip("\n")
    if args.check or args.write:
        readme = (args.check or args.write).read_text()
        if args.write:
            (args.write).write_text(with_block(readme, table))
        elif readme_block(readme) != table:
            raise ValueError(
                f"{args.check}'s headline table differs from the one rendered from {args.folder}: "
                "run scripts/tables.py headline --write README.md (and edit the template, not the README)"
            )
    return table + "\n"


def index(args: argparse.Namespace) -> str:
    """The results index (docs/results/README.md) rendered from its template (``index.md`` beside
    the headline table's) and the same statistics files; ``--check`` and ``--write`` as for the
    headline table, on the whole file."""
    template, sources = load_sources(args.folder, "index.md")
    text = render(template, sources)
    if args.write:
        args.write.write_text(text)
    elif args.check and args.check.read_text() != text:
        raise ValueError(
            f"{args.check} differs from the index rendered from {args.folder}/index.md: run scripts/tables.py "
            f"index --write {args.check} (and edit the template, not the index)"
        )
    return text


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    tables = main.add_subparsers(dest="table", required=True)
    first = tables.add_parser("accuracy", help="evaluation runs' accuracy, time and load")
    first.add_argument("runs", nargs="+", type=Path, help="evaluation run directories (summary.json inside)")
    second = tables.add_parser("policy", help="label-free policies against the full chain and a rival")
    second.add_argument("runs", nargs="+", type=named_path, help="NAME=PATH of an evaluate.py run")
    second.add_argument("--full", required=True, help="the NAME of the full chain's run")
    second.add_argument("--rival", default=None, help="the NAME of the best calibration's run")
    second.add_argument(
        "--whole-only", action="store_true", help="one table on the shared rows, without the rows-500+ table"
    )
    second.add_argument(
        "--statistics", type=Path, default=None, help="also write every figure as a statistics file (JSON)"
    )
    third = tables.add_parser("cascade", help="a draft policy's answer where its margin is high enough")
    third.add_argument("draft", type=Path, help="the draft policy's evaluate.py run")
    third.add_argument("full", type=Path, help="the full chain's evaluate.py run")
    third.add_argument("--levels", nargs="+", type=float, default=[0.0, 0.2, 0.4, 0.6, 0.8, 0.9])
    fourth = tables.add_parser("headline", help="the README's headline table from its statistics files")
    fourth.add_argument(
        "--folder", type=Path, default=Path("docs/results/headlines"), help="template and sources"
    )
    fourth.add_argument(
        "--check", type=Path, default=None, help="fail unless this README holds the rendered table"
    )
    fourth.add_argument("--write", type=Path, default=None, help="write the rendered table into this README")
    fifth = tables.add_parser("index", help="the results index (docs/results/README.md) from its template")
    fifth.add_argument(
        "--folder", type=Path, default=Path("docs/results/headlines"), help="template and sources"
    )
    fifth.add_argument("--check", type=Path, default=None, help="fail unless this file is the rendered index")
    fifth.add_argument("--write", type=Path, default=None, help="write the rendered index to this file")
    for table in (first, second, third, fourth, fifth):
        table.add_argument("--out", type=Path, default=None, help="also write the table to this file")
    return main


TABLES = {"accuracy": accuracy, "policy": policy, "cascade": cascade, "headline": headline, "index": index}


def run() -> None:
    """The console command (``cola-tables``) and the script's entry."""
    args = parser().parse_args()
    try:
        table = TABLES[args.table](args)
    except (FileNotFoundError, ValueError, KeyError) as error:
        raise SystemExit(f"error: {error.args[0] if isinstance(error, KeyError) else error}") from None
    emit_table(table, args.out)
