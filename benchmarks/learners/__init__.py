"""Learners: policies and priors fitted on labelled train and validation splits.

The static-chain race (``static_chain``, its stored outcomes in ``split_scores``), the block
router (``block_router_training``), the choice calibration and its exit-stacked form
(``exit_calibration``), ensembles' libraries, the search's edit prior and edit orders, the
self-speculative draft's choice, DoLa's layer (``dola_choice``) and layer pruning (``pruning``). Each saves a file that ``cola.policy`` or ``search.prior`` loads.

May import: the core modules of ``benchmarks``, ``analysis`` and ``runs`` (a learner runs chains
and reads their records), other learners; never ``reports`` or ``benches``.
"""
