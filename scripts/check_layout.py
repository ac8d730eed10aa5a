"""Print the import arrows between the project's packages and its function lengths; exit 1 on a
broken rule.

python scripts/check_layout.py

Rules (ARCHITECTURE.md): ``search`` imports none of torch, transformers, cola, benchmarks;
``cola`` imports neither search nor benchmarks; no library package imports ``scripts``; no
script is named like a package; no function is over 60 lines and the median is at most 15.
"""

from __future__ import annotations

import ast
import statistics
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("cola", "search", "benchmarks")
WATCHED = (*PACKAGES, "scripts", "torch", "transformers", "hydra")
FORBIDDEN = {
    "search": {"torch", "transformers", "cola", "benchmarks", "scripts", "hydra"},
    "cola": {"search", "benchmarks", "scripts", "hydra"},
    "benchmarks": {"scripts", "hydra"},
}
MAX_FUNCTION_LINES, MAX_MEDIAN_LINES = 60, 15


def imported_roots(tree: ast.AST) -> set[str]:
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def function_lengths(tree: ast.AST, path: Path) -> list[tuple[int, str]]:
    return [
        (node.end_lineno - node.lineno + 1, f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def main() -> int:
    arrows: dict[str, set[str]] = defaultdict(set)
    lengths: list[tuple[int, str]] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            arrows[package] |= (imported_roots(tree) & set(WATCHED)) - {package}
            lengths += function_lengths(tree, path)
    problems = [
        f"{package} imports {target}"
        for package, targets in arrows.items()
        for target in sorted(targets & FORBIDDEN[package])
    ]
    problems += [
        f"scripts/{p.name} is named like a package"
        for p in (ROOT / "scripts").glob("*.py")
        if p.stem in PACKAGES
    ]
    problems += [f"{where}: {n} lines" for n, where in lengths if n > MAX_FUNCTION_LINES]
    median = statistics.median(n for n, _ in lengths)
    if median > MAX_MEDIAN_LINES:
        problems.append(f"median function length {median} > {MAX_MEDIAN_LINES}")
    for package in PACKAGES:
        print(f"{package} -> {', '.join(sorted(arrows[package])) or '(nothing watched)'}")
    longest = max(lengths)
    print(f"{len(lengths)} functions: median {median} lines, longest {longest[0]} ({longest[1]})")
    for problem in problems:
        print(f"BROKEN: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
