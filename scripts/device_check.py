"""Check cola on a device: the composer contract and the engine's lanes against independent paths
on tiny random models of every family, in float32 and bfloat16, and the engine against naive
decoding on a 7B shape (CUDA only). Writes device_check-<device>.md and .json.

    python scripts/device_check.py --device cuda --out docs/results/gpu
    python scripts/device_check.py --device cpu --out /tmp/check      # what a CPU can check

Exit status 1 when a float32 check or a bfloat16 identity check fails.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
import transformers

from benchmarks.benches.device_check import device_checks, rows_json, rows_markdown


def describe(device: str) -> str:
    name = (
        torch.cuda.get_device_name(0)
        if device == "cuda" and torch.cuda.is_available()
        else platform.machine()
    )
    return (
        f"Device check on {device} ({name or 'unknown'}), torch {torch.__version__}, transformers "
        f"{transformers.__version__}, Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for device_check-<device>.md and .json"
    )
    parser.add_argument("--no-bench", action="store_true", help="leave out the 7B-shape bench")
    args = parser.parse_args()
    start = time.perf_counter()
    rows = device_checks(args.device, bench_shape=None if args.no_bench else "qwen2-7b")
    header = describe(args.device) + f" {time.perf_counter() - start:.0f} s."
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"device_check-{args.device}.md").write_text(rows_markdown(rows, header=header))
    (args.out / f"device_check-{args.device}.json").write_text(
        json.dumps({"header": header, "rows": rows_json(rows)}, indent=1) + "\n"
    )
    print(rows_markdown(rows, header=header))
    if any(row.passed is False for row in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
