"""The audit: plan, every stage (resumable), audit.md (Hydra entry point; presets in conf/audit/).

python scripts/audit.py audit=quick [audit.plan_only=true]
"""

from benchmarks.cli.audit import run

if __name__ == "__main__":
    run()
