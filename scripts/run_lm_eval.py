"""lm-eval's command line with the `cola` model registered and the project's offline tasks included.

    .venv/bin/python scripts/run_lm_eval.py --model cola \\
        --model_args "model=smollm2,chain=0-9;9;10-29" --tasks cola_arc_easy --limit 20

Needs the extra: pip install -e ".[lmeval]". Run from the repository root (the task files name
the vendored data by paths relative to it).
"""

from benchmarks.lm_eval_model import main

if __name__ == "__main__":
    main()
