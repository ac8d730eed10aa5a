"""Analysis: records in, numbers out.

Statistics (``stats``), the one definition of reached-within-k (``reach``), the development rows
and the rows never used in development (``fresh_rows``), search and faithful summaries, runs
compared like with like (``search_compare``), policies against the full chain (``policy_gains``),
the confidence cascade, loglikelihood agreement between runs, unsteered depth, and the
equal-margin test (``equal_margin/``).

May import: the core modules of ``benchmarks`` and other analyses; never a run, a report, a
learner or a bench, so every number can be recomputed from committed records without a model.
"""
