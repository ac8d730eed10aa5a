"""The audit: every stage of the project's main job as one resumable graph over one run folder.

A stage (``stages``) is a named, resumable run with settings: the full chain on each split, each
search beside its placebo twin, the calibration fit on train and read on test. ``graph`` builds the
stages a preset asks for from :class:`~benchmarks.audit.settings.AuditSettings` (no Hydra here: the
script composes the settings), ``plan`` times a few questions of each stage before any long work,
and ``document`` writes ``audit.md`` from the stages' records.

May import: the core modules of ``benchmarks``, ``runs``, ``analysis``, ``learners``, ``reports``.
"""
