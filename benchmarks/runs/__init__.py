"""Runs: a model over questions into records.

Search runs (``search_run``; a record's fields in ``search_record``, faithful searches in
``faithful_search``, the model's own tries in ``guess_run``), evaluation runs under a chain or a
policy (``evaluate``; ensembles' answers in ``ensemble_scores``, DoLa's in ``dola_scores``),
every exit's choice scores (``exit_run``), chain sets over a split (``chain_sets``: one unsteered set per
question, or one fixed named list for all), chain files from
search records (``export``), and what every script does around its library call (``session``,
``decode_prompts``). Each writes resumable records through
:mod:`benchmarks.results`.

May import: the core modules of ``benchmarks``, ``analysis`` (a run's summary is an analysis of
its records), other runs; never ``reports``, ``learners`` or ``benches``.
"""
