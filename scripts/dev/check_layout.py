"""Print the import arrows between the project's packages and its function lengths; exit 1 on a
broken rule.

python scripts/dev/check_layout.py

Rules (docs/guide.md, Layout): ``search`` imports none of torch, transformers, cola, benchmarks;
``cola`` imports neither search nor benchmarks; no library package imports ``scripts``; no
script is named like a package; ``benchmarks``' rooms import only the rooms ``ROOM_IMPORTS`` lets
them (the core modules at its top import none; reports read analysis, never the other way;
learners never import reports), each room's ``__init__.py`` says what it owns, and no folder of
``benchmarks`` holds more than a dozen modules; no two modules of the project import each other,
directly or round a longer loop (an import under ``TYPE_CHECKING`` counts); no function is over
60 lines and the median is at most 15.
"""

from __future__ import annotations

import ast
import statistics
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cola", "search", "benchmarks")
WATCHED = (*PACKAGES, "scripts", "torch", "transformers", "hydra")
FORBIDDEN = {
    "search": {"torch", "transformers", "cola", "benchmarks", "scripts", "hydra"},
    "cola": {"search", "benchmarks", "scripts", "hydra"},
    "benchmarks": {"scripts", "hydra"},
}
# The rooms of ``benchmarks`` and the rooms each may import besides the core modules at the top of
# ``benchmarks`` (which import no room): records flow runs -> analysis -> reports, and learners
# run chains and read analyses but never write reports.
ROOM_IMPORTS = {
    "analysis": {"analysis"},
    "reports": {"analysis", "reports"},
    "runs": {"analysis", "runs"},
    "learners": {"analysis", "runs", "learners"},
    "benches": {"analysis", "runs", "benches"},
    "audit": {"analysis", "runs", "reports", "learners", "audit"},  # the main job's stage graph
    "cli": {"analysis", "runs", "reports", "learners", "benches", "audit", "cli"},  # the console commands
}
MAX_ROOM_MODULES = 12
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


def room_of(module: str) -> str | None:
    """The room of a ``benchmarks`` module ("core" for the modules at its top), None outside it."""
    parts = module.split(".")
    if parts[0] != "benchmarks":
        return None
    return parts[1] if len(parts) >= 2 and parts[1] in ROOM_IMPORTS else "core"


def room_problems(graph: dict[str, set[str]]) -> list[str]:
    problems = []
    for module, targets in graph.items():
        room = room_of(module)
        allowed = {"core"} | ROOM_IMPORTS.get(room, set())
        problems += [
            f"{module} ({room}) imports {target} ({room_of(target)})"
            for target in sorted(targets)
            if room is not None and room_of(target) not in (None, *allowed)
        ]
    return problems


def folder_problems() -> list[str]:
    problems = []
    for folder in sorted({p.parent for p in (ROOT / "benchmarks").rglob("*.py")}):
        modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
        if len(modules) > MAX_ROOM_MODULES:
            problems.append(
                f"{folder.relative_to(ROOT)} holds {len(modules)} modules (at most {MAX_ROOM_MODULES})"
            )
    for room in ROOM_IMPORTS:
        init = ROOT / "benchmarks" / room / "__init__.py"
        if not init.is_file() or ast.get_docstring(ast.parse(init.read_text())) is None:
            problems.append(f"benchmarks/{room}/__init__.py does not say what the room owns")
    return problems


def relative_imports(trees: dict[str, ast.AST]) -> list[str]:
    """Relative imports hide an arrow from the checks above: the project spells every import out."""
    return [
        f"{module} has a relative import (from {'.' * node.level}{node.module or ''} import ...)"
        for module, tree in trees.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level > 0
    ]


def module_problems(trees: dict[str, ast.AST]) -> list[str]:
    graph = {module: imported_modules(tree, set(trees)) - {module} for module, tree in trees.items()}
    problems = room_problems(graph) + relative_imports(trees)
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
            roots = imported_roots(tree)
            if path.parent == ROOT / "benchmarks" / "cli":
                roots -= {"hydra"}  # the console commands are Hydra's entry points; the library is not
            arrows[package] |= (roots & set(WATCHED)) - {package}
            lengths += function_lengths(tree, path)
    problems = [
        f"{package} imports {target}"
        for package, targets in arrows.items()
        for target in sorted(targets & FORBIDDEN[package])
    ]
    problems += module_problems(trees) + folder_problems()
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
