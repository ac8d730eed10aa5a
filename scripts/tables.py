"""Print the project's tables from records: evaluation accuracy, label-free policies, a cascade
(``python scripts/tables.py --help``)."""

from benchmarks.cli.tables import run

if __name__ == "__main__":
    run()
