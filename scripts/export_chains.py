"""Write a chain file (JSON) from a scripts/run_search.py run, optionally with a static chain.

python scripts/export_chains.py outputs/search/<run> --out chains.json [--model smollm2]
    [--static outputs/route/<study>/static_chain.json]
"""

from benchmarks.cli.export import run

if __name__ == "__main__":
    run()
