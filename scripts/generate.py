"""Generate text for a prompt under a chain, streamed to the terminal (Hydra entry point).

python scripts/generate.py model=smollm2 chain=0-9,9,10-29 prompt="What is the capital of Italy?"
python scripts/generate.py chain_file=chains.json chain_sample=static prompt="..."
python scripts/generate.py policy=<a cola policy file> prompt="..."   (the policy picks the chain)
"""

from benchmarks.cli.generate import run

if __name__ == "__main__":
    run()
