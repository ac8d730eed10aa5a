"""The machine a measurement ran on: CPUs, torch threads and load, recorded per sample.

Timings and even throughput-bound budgets mean little without the load beside them (two runs
sharing two cores take about twice as long each), so every search record carries the 1-minute
load average at its start and the summary reports its median and maximum.
"""

from __future__ import annotations

import os

import numpy as np
import torch


def machine_state() -> dict:
    """Fields for one record: CPU count, torch intra-op threads, 1-minute load average now."""
    return {
        "cpus": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "load_1m": round(os.getloadavg()[0], 2),
    }


def summarize_machine(records: list[dict]) -> dict | None:
    """Median and maximum load over the records that kept it (None for records from before)."""
    loads = [r["load_1m"] for r in records if r.get("load_1m") is not None]
    if not loads:
        return None
    last = next(r for r in reversed(records) if r.get("load_1m") is not None)
    return {
        "cpus": last["cpus"],
        "threads": last["threads"],
        "median_load_1m": float(np.median(loads)),
        "max_load_1m": float(max(loads)),
        "n_with_load": len(loads),
    }


def describe_machine(machine: dict | None) -> str:
    if machine is None:
        return "machine load not recorded"
    return (
        f"{machine['cpus']} CPUs, {machine['threads']} torch thread(s), 1-minute load median "
        f"{machine['median_load_1m']:.2f} (max {machine['max_load_1m']:.2f}) over {machine['n_with_load']} samples"
    )
