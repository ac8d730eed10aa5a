"""Per-question agreement of two loglikelihood runs on the same rows.

    .venv/bin/python scripts/studies/compare_loglikelihoods.py \\
        outputs/lm_eval/cola/.../samples_cola_arc_easy_*.jsonl outputs/lm_eval/hf/.../samples_*.jsonl --rows 100

Each side is an lm-eval samples file (``--log_samples``) or a ``scripts/evaluate.py`` run directory.
"""

import argparse
import sys

from benchmarks.analysis.lm_eval_parity import agreement, read_scored


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("first")
    parser.add_argument("second")
    parser.add_argument("--rows", type=int, default=None, help="the first N rows (default: all shared)")
    args = parser.parse_args()
    try:
        result = agreement(read_scored(args.first), read_scored(args.second), args.rows)
    except (FileNotFoundError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"{result['rows']} rows: same prediction on {result['same_prediction']}; "
        f"largest loglikelihood difference {result['max_abs_difference']:.2e} nats"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
