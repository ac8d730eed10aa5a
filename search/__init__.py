"""Chain search: MCTS and baselines over skip/repeat edits, the pure search core.

May import: the standard library and numpy. Never torch, transformers, ``cola`` or ``benchmarks``.
The model is seen only through the :class:`~search.types.Evaluator` protocol (``chain -> reward``,
optionally ``hint``); ``benchmarks.evaluator.ChainEvaluator`` is the one that runs a model.
"""

from search.actions import Edit, EditConfig, children, legal_edits
from search.baselines import greedy_search, random_search
from search.config import GUESS_SEARCH_NAMES, SearchConfig
from search.descent import descent_search
from search.mcts import mcts_search, signature
from search.prior import load_edit_prior, load_keep_prior
from search.reference import reference_search
from search.types import CORRECT, Chain, Evaluator, HintedEvaluator, SearchResult, StopRule

SEARCHES = {
    "mcts": mcts_search,
    "guided": mcts_search,  # MCTS with the settings of conf/search/guided.yaml
    "learned": mcts_search,  # MCTS expanding edits in the order of a learned prior (learned.yaml)
    "reference": reference_search,
    "random": random_search,
    "greedy": greedy_search,
    "descent": descent_search,  # find a correct chain, then remove layers while it stays correct
}

# The prior file each search reads where prior=learned; the others run without one.
PRIOR_READERS = {mcts_search: load_edit_prior, descent_search: load_keep_prior}


def check_prior_file(config: SearchConfig, n_layers: int) -> None:
    """Read a search's prior file as the search will, so a wrong file is refused before a run
    starts (and before it claims its run folder), not at the first sample."""
    reader = PRIOR_READERS.get(SEARCHES.get(config.name))
    if config.prior == "learned" and reader is not None:
        reader(config.prior_file, n_layers)


def search_function(name: str):
    if name in GUESS_SEARCH_NAMES:
        raise ValueError(
            f"search {name} tries the full chain's own answers and evaluates no chain; it runs through "
            "scripts/run_search.py, not as a chain search"
        )
    if name not in SEARCHES:
        raise ValueError(f"unknown search {name!r}; choose from {', '.join(SEARCHES)}")
    return SEARCHES[name]


__all__ = [
    "CORRECT",
    "SEARCHES",
    "check_prior_file",
    "Chain",
    "Edit",
    "EditConfig",
    "Evaluator",
    "HintedEvaluator",
    "SearchConfig",
    "SearchResult",
    "StopRule",
    "children",
    "descent_search",
    "greedy_search",
    "legal_edits",
    "mcts_search",
    "random_search",
    "reference_search",
    "search_function",
    "signature",
]
