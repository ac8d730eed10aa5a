"""Write a chain as a standalone Hugging Face checkpoint (safetensors + config + tokenizer).

    python scripts/materialize.py --model smollm2 --chain 0-9,9,10-29 --out checkpoints/smollm2-0-9,9,10-29
    python scripts/materialize.py --chain-file chains.json --static --out checkpoints/static

The result loads with plain transformers.AutoModelForCausalLM.from_pretrained(out).
"""

from benchmarks.cli.materialize import run

if __name__ == "__main__":
    run()
