"""Write a static chain as a mergekit passthrough recipe over a local checkpoint.

python scripts/export_mergekit.py --model smollm2 --chain 0-9,9,10-29 --out recipe.yaml
"""

from benchmarks.cli.export_mergekit import run

if __name__ == "__main__":
    run()
