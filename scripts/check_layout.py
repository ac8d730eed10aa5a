"""Print the import arrows between the project's packages and its function lengths; exit 1 on a
broken rule.

python scripts/check_layout.py

Rules (ARCHITECTURE.md): ``search`` imports none of torch, transformers, cola, benchmarks;
``cola`` imports neither search nor benchmarks; no library package imports ``scripts``; no
script is named like a package; no library module outside ``benchmarks/experiments`` imports the
drivers there; no two modules of the project import each other, directly or round a longer loop (an
import under ``TYPE_CHECKING`` counts); no function is over 60 lines and the median is at most 15.
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
DRIVERS = "benchmarks.experiments"
MAX_FUNCTION_LINES, MAX_MEDIAN_LINES = 60, 15


def imported_roots(tree: ast.AST) -> set[str]:
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(tree: ast.AST, modules: set[str]) -> set[str]:
    """The project modules a file imports: ``from cola.chain import x`` and ``from cola import chain``
    name ``cola.chain``; ``from cola import parse_chain`` names the package ``cola`` itself."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found & modules


def import_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One loop of imports in ``graph`` (module -> modules it imports), or None."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" once explored

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return path[path.index(target) :] + [target]
            if target not in state and (loop := visit(target, [*path, target])):
                return loop
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (loop := visit(module, [module])):
            return loop
    return None


def module_problems(trees: dict[str, ast.AST]) -> list[str]:
    graph = {module: imported_modules(tree, set(trees)) - {module} for module, tree in trees.items()}
    problems = [
        f"{module} (a library module) imports {target} (a driver)"
        for module, targets in graph.items()
        if not module.startswith(DRIVERS)
        for target in sorted(targets)
        if target.startswith(DRIVERS)
    ]
    if loop := import_cycle(graph):
        problems.append(f"import cycle: {' -> '.join(loop)}")
    return problems


def function_lengths(tree: ast.AST, path: Path) -> list[tuple[int, str]]:
    return [
        (node.end_lineno - node.lineno + 1, f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def main() -> int:
    arrows: dict[str, set[str]] = defaultdict(set)
    lengths: list[tuple[int, str]] = []
    trees: dict[str, ast.AST] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = trees[module_name(path)] = ast.parse(path.read_text(), filename=str(path))
            arrows[package] |= (imported_roots(tree) & set(WATCHED)) - {package}
            lengths += function_lengths(tree, path)
    problems = [
        f"{package} imports {target}"
        for package, targets in arrows.items()
        for target in sorted(targets & FORBIDDEN[package])
    ]
    problems += module_problems(trees)
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
