"""The front door stays a front door and the documented commands stay true.

The README stays within 250 lines; every command in a ``bash`` block of README.md,
docs/guide.md and the results pages (their commands reproduce them) is checked the way it would run: Hydra overrides by composing the script's config
(and building the library objects it names), argparse scripts by their ``--help`` (every option
used must be one it lists), shell scripts by ``bash -n``, extras against pyproject.toml;
``<placeholders>`` are skipped. Every relative link resolves, and every folder of docs/results is
in its index.
"""

from __future__ import annotations

import importlib.metadata
import itertools
import json
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.utils import instantiate

from benchmarks.runs.session import quote_chain_arguments

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "docs" / "guide.md"]
RESULTS = ROOT / "docs" / "results"
MAX_README_LINES = 250
PLACEHOLDER = re.compile(r"\S*<[^>]*>\S*")  # `train_run=<a search run>`: the whole argument goes
HYDRA_MAIN = re.compile(r'@hydra\.main\(.*?config_name="(\w+)"')
WRAPPED = re.compile(r"from (benchmarks\.cli\.\w+) import run")  # scripts/ wrapping a console command
SUBCOMMAND = re.compile(r'add_parser\(\s*"([\w-]+)"')


@cache
def script_source(script: str) -> str:
    """A script's source, with the console command's module where the script only wraps one."""
    source = (ROOT / script).read_text()
    if match := WRAPPED.search(source):
        source += (ROOT / (match.group(1).replace(".", "/") + ".py")).read_text()
    return source


def argparse_command(words: list[str]) -> tuple[str, ...]:
    """The script and, where it has subcommands (``tables.py policy``), the one used."""
    script = words[0]
    if len(words) > 1 and words[1] in SUBCOMMAND.findall(script_source(script)):
        return (script, words[1])
    return (script,)


MARKDOWN = sorted({*DOCS, *RESULTS.rglob("README.md")})


def bash_commands(path: Path) -> list[str]:
    """Each command of the file's ``bash`` blocks, continuation lines joined."""
    blocks = re.findall(r"```bash\n(.*?)```", path.read_text(), flags=re.DOTALL)
    joined = "\n".join(block.replace("\\\n", " ") for block in blocks)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.startswith("#")]


COMMANDS = [
    (path.relative_to(ROOT).as_posix(), command) for path in MARKDOWN for command in bash_commands(path)
]


def test_readme_is_a_front_door():
    lines = (ROOT / "README.md").read_text().count("\n")
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move reference to docs/guide.md"
    assert len(COMMANDS) >= 20, "the docs' bash blocks were not found"


@pytest.mark.parametrize(("doc", "command"), COMMANDS, ids=[f"{d}:{c[:60]}" for d, c in COMMANDS])
def test_documented_command_is_accepted(doc, command, pytestconfig):
    words = shlex.split(PLACEHOLDER.sub("", command), comments=True)
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # environment assignments
        words.pop(0)
    program, args = words[0], words[1:]
    if program == "bash":
        check_shell_script(args)
    elif program.endswith("/cola-lm-eval"):
        check_options(["scripts/run_lm_eval.py"], args)
    elif program.endswith("python") and args[:2] == ["-m", "pytest"]:
        check_pytest(args[2:], pytestconfig.getini("markers"))
    elif program.endswith("python") and args[0].startswith("scripts/"):
        check_script(args[0], args[1:])
    elif program.endswith(("/pip", "pip")):
        check_extras(args)
    elif program.endswith("/mergekit-yaml"):
        check_mergekit(program, args)
    else:
        pytest.fail(f"{doc}: no check for the command {command!r}; teach tests/test_docs.py one")


def check_shell_script(args: list[str]) -> None:
    script = ROOT / args[0]
    assert script.is_file(), f"{args[0]} does not exist"
    subprocess.run(["bash", "-n", str(script)], check=True)


def check_mergekit(program: str, args: list[str]) -> None:
    """mergekit lives in its own environment (scripts/setup_mergekit.sh): where it is installed, every
    option used must be one its --help lists; the recipe must be a YAML file the docs wrote."""
    assert args and args[0].endswith(".yaml"), f"mergekit-yaml takes a recipe first, not {args[:1]}"
    assert (ROOT / "scripts" / "setup_mergekit.sh").is_file()
    if (ROOT / program).is_file():
        listed = subprocess.run([str(ROOT / program), "--help"], capture_output=True, text=True).stdout
        unknown = [word for word in args if word.startswith("--") and word not in listed]
        assert not unknown, f"mergekit-yaml does not take {unknown}"


def check_script(script: str, args: list[str]) -> None:
    if match := HYDRA_MAIN.search(script_source(script)):
        check_hydra(match.group(1), args)
    else:
        command = argparse_command([script, *args])
        check_options(list(command), args[len(command) - 1 :])


def check_hydra(config_name: str, args: list[str]) -> None:
    multirun = bool({"-m", "--multirun"} & set(args))
    overrides = quote_chain_arguments([a for a in args if a not in ("-m", "--multirun")])
    for combination in expand_sweeps(overrides) if multirun else [overrides]:
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = compose(config_name, overrides=combination, return_hydra_config=True)
        for group in ("benchmark", "search", "engine"):  # builds, so a bad value is refused
            if group in cfg:
                instantiate(cfg[group])


def expand_sweeps(overrides: list[str]) -> list[list[str]]:
    """One override list per combination of a multirun's sweep values."""
    choices = []
    for override in OverridesParser.create().parse_overrides(overrides):
        key = override.get_key_element()
        values = (
            override.sweep_string_iterator()
            if override.is_sweep_override()
            else [override.get_value_element_as_str()]
        )
        choices.append([f"{key}={value}" for value in values])
    return [list(combination) for combination in itertools.product(*choices)]


def check_options(script: list[str], args: list[str]) -> None:
    used = {arg.split("=")[0] for arg in args if arg.startswith("--")}
    listed = set(re.findall(r"--[\w-]+", help_text(tuple(script))))
    assert used <= listed, f"{' '.join(script)} does not take {sorted(used - listed)}"


def help_text(script: tuple[str, ...]) -> str:
    return all_help_texts()[script]


# Every --help in one interpreter: torch and the project imported once, not once a script (each
# script run as __main__ with its arguments, as `python script ... --help` would run it).
HELP_RUNNER = """
import contextlib, io, json, runpy, sys
texts = {}
for words in json.loads(sys.stdin.read()):
    sys.argv, printed = [*words, "--help"], io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            runpy.run_path(words[0], run_name="__main__")
        code = "returned without exiting"
    except SystemExit as stop:
        code = stop.code or 0
    texts[json.dumps(words)] = [code, printed.getvalue()]
print(json.dumps(texts))
"""


@cache
def all_help_texts() -> dict[tuple[str, ...], str]:
    """Every documented argparse script's ``--help``."""
    scripts = {("scripts/run_lm_eval.py",)} | {
        argparse_command(words[1:])
        for words in (shlex.split(PLACEHOLDER.sub("", command), comments=True) for _, command in COMMANDS)
        if len(words) > 1
        and words[1].startswith("scripts/")
        and words[1].endswith(".py")
        and not HYDRA_MAIN.search(script_source(words[1]))
    }
    done = subprocess.run(
        [sys.executable, "-c", HELP_RUNNER],
        cwd=ROOT,
        input=json.dumps(sorted(scripts)),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    texts = {}
    for key, (code, text) in json.loads(done.stdout).items():
        script = tuple(json.loads(key))
        assert code == 0, f"{' '.join(script)} --help failed ({code})"
        texts[script] = text
    return texts


def check_pytest(args: list[str], markers: list[str]) -> None:
    known = {marker.split(":")[0] for marker in markers}
    if "-m" in args:
        expression = args[args.index("-m") + 1]
        words = set(re.findall(r"\w+", expression)) - {"not", "and", "or"}
        assert words <= known, f"unknown pytest markers {sorted(words - known)}"


def check_extras(args: list[str]) -> None:
    extras = importlib.metadata.metadata("cola").get_all("Provides-Extra")
    for arg in args:
        if match := re.search(r"\.\[(\w+)\]", arg):
            assert match.group(1) in extras, f"cola has no extra {match.group(1)!r}"


def relative_links(path: Path) -> list[str]:
    targets = re.findall(r"\]\(([^)\s]+)\)", path.read_text())
    return [target for target in targets if not re.match(r"[a-z]+:", target)]


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(path):
    for target in relative_links(path):
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        assert resolved.exists(), f"{path.relative_to(ROOT)} links to missing {target}"
        if anchor and resolved.suffix == ".md":
            assert anchor in anchors(resolved), f"{path.relative_to(ROOT)} links to missing anchor {target}"


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", path.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_every_results_folder_is_in_the_index():
    index = (RESULTS / "README.md").read_text()
    linked = {Path(target.partition("#")[0]).parts[0] for target in relative_links(RESULTS / "README.md")}
    folders = {path.name for path in RESULTS.iterdir() if path.is_dir()}
    assert folders <= linked, f"docs/results/README.md does not index {sorted(folders - linked)}"
    for folder in folders:
        assert (RESULTS / folder / "README.md").is_file(), f"docs/results/{folder} has no README.md"
    assert "newest first" in index


ABSOLUTE_PATH = re.compile(r"""(?:^|["'\s(=:])(/(?:work|root|home|tmp|Users|mnt|opt|srv)/[^"'\s)]*)""")
COMMITTED_TEXT = ("*.json", "*.md", "*.yaml", "*.txt")


def test_no_committed_file_names_a_machine_path():
    """Paths in committed results and configs are relative to the repository (or ~ for a cache):
    an absolute path of the machine a file was made on names nothing anywhere else."""
    found = []
    for folder in ("docs", "conf"):
        for pattern in COMMITTED_TEXT:
            for path in (ROOT / folder).rglob(pattern):
                found += [
                    f"{path.relative_to(ROOT)}: {match}" for match in ABSOLUTE_PATH.findall(path.read_text())
                ]
    assert not found, "\n".join(found[:20])
    gz = [path for path in (ROOT / "docs").rglob("*.jsonl.gz")]
    assert gz  # the scan below reads the committed records too
    import gzip

    for path in gz:
        with gzip.open(path, "rt") as handle:
            text = handle.read()
        assert not ABSOLUTE_PATH.search(text), f"{path.relative_to(ROOT)} names a machine path"
