"""Write copies of a block router whose skips need confidence, one file per level, to be compared
on validation (scripts/evaluate.py policy=<file>): a skip stays a skip only where the router gives
it at least that probability, otherwise the block runs.

    python scripts/gate_router.py outputs/router/block_router.safetensors 0.6 0.8 0.9 --out outputs/gated
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cola.policy import gate_router_skips


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("router", type=Path, help="a block_router policy file (scripts/train_router.py)")
    parser.add_argument("levels", nargs="+", type=float, help="skip confidences in [0, 1)")
    parser.add_argument("--out", type=Path, required=True, help="folder for skip<level>.safetensors")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for level in args.levels:
        path = args.out / f"skip{level:g}.safetensors"
        gate_router_skips(args.router, path, level)
        print(path)


if __name__ == "__main__":
    main()
