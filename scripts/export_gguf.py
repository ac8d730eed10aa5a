"""Write a static chain over a GGUF model as a GGUF that llama.cpp loads.

python scripts/export_gguf.py --model smollm2 --chain 0-9,9,10-29 --out smollm2-chain.gguf
"""

from benchmarks.cli.export_gguf import run

if __name__ == "__main__":
    run()
