"""Benches: the engine against the naive evaluator on the same searches, work and time side by side.

May import: the core modules of ``benchmarks``, ``analysis`` and ``runs``.
"""
