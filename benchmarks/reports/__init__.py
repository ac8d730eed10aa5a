"""Reports: numbers into markdown tables and plots.

The search report and its plots, the faithful report, the equal-margin section, the unsteered
depth table and plot, the policy table and the accuracy table.

May import: the core modules of ``benchmarks``, ``analysis`` and other reports; nothing imports a
report but a script or a console command (``cli``), so what a table says is always an analysis's
number.
"""
