"""One static chain named on a command line: as text, a static-chain policy, or one chain of a chain
file (its static chain, or a question's by ``--id``). Shared by the exporters to other runtimes."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from benchmarks.runs.session import check_chain_argument, open_model
from cola import format_chain, parse_chain
from cola.chainfile import load_chain_file, weights_fingerprint
from cola.policy import StaticChain, load_policy


def add_chain_choice(options: argparse.ArgumentParser) -> None:
    given = options.add_mutually_exclusive_group(required=True)
    given.add_argument("--chain", type=str, help="the chain as text, e.g. 0-9,9,10-29")
    given.add_argument(
        "--policy", type=Path, help="a static-chain policy file (scripts/prune.py, learn_static_chain.py)"
    )
    given.add_argument(
        "--chains", type=Path, help="a chain file (scripts/export_chains.py): its static chain, or --id's"
    )
    options.add_argument("--id", default=None, help="with --chains: the question whose chain to export")


def static_policy_chain(path: Path, loaded, chain_model) -> tuple[int, ...]:
    """A static-chain policy's chain, checked against the loaded model's weights; any other kind of
    policy is refused (it is not one chain)."""
    policy = load_policy(path, chain_model, fingerprint=weights_fingerprint(loaded.model))
    if not isinstance(policy, StaticChain):
        raise ValueError(f"{path} is a {policy.kind} policy: only a static chain is one chain to export")
    return policy.chain


def chosen_chain(args: argparse.Namespace, spec: str, n_layers: Callable[[], int]) -> tuple[int, ...]:
    """The chain from text (checked against the layer count ``n_layers()`` alone), or from a policy
    or chain file (checked against the weights of the model ``spec``, loaded for the check). The
    layer count is read for a text only: reading it can cost as much as loading the model (a
    GGUF's metadata), and a file of other weights is refused without it."""
    if args.chain is not None:
        check_chain_argument(args.chain)
        return parse_chain(args.chain, n_layers())
    loaded, chain_model = open_model(spec=spec)
    if args.policy is not None:
        return static_policy_chain(args.policy, loaded, chain_model)
    chain_file = load_chain_file(args.chains, model=loaded.model)
    if args.id is not None:
        return chain_file.chain_for(args.id)
    if chain_file.static_chain is None:
        raise ValueError(f"{args.chains} holds no static chain: name a question's chain with --id")
    return chain_file.static_chain


def add_policy_checks(options: argparse.ArgumentParser, writes: str) -> None:
    """``--policy MODEL=FILE`` (repeatable) for a runtime check: a static-chain policy's chain checked
    in place of the fixed chains."""
    options.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="MODEL=FILE",
        help=f"check a static-chain policy's chain (scripts/prune.py's output) in place of the fixed chains; writes {writes}",
    )


def policy_files(args: argparse.Namespace) -> dict[str, str]:
    """The checked policies, model -> file."""
    return dict(item.split("=", 1) for item in args.policy)


def policy_chains(file: str, loaded, chain_model) -> dict[str, str]:
    """A checked policy as a runtime check's chains: its file's name -> its chain's text."""
    return {Path(file).stem: format_chain(static_policy_chain(Path(file), loaded, chain_model))}
