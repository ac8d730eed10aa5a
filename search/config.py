"""Search settings; defaults follow the CoLa reference search (arXiv 2507.07996, its MCTSConfig)."""

from __future__ import annotations

from dataclasses import dataclass, field

from search.actions import EditConfig
from search.types import StopRule

# The names of search.SEARCHES, the registry; kept here because the registry imports the searches,
# which import this module (tests/search/test_core.py checks that the two agree).
CHAIN_SEARCH_NAMES = ("mcts", "guided", "learned", "reference", "random", "greedy", "descent")
# The model's own tries (search/guesses.py): no chain is evaluated, answers are drawn or ranked.
GUESS_SEARCH_NAMES = ("sample", "sample_matched", "rank")
SEARCH_NAMES = CHAIN_SEARCH_NAMES + GUESS_SEARCH_NAMES
CONTROLS = (None, "placebo", "placebo_all", "reach")
REWARDS = ("binary", "margin", "faithful")
# What control=reach aims at on multiple choice (generation always aims at the runner-up answer).
REACH_TARGETS = ("least_likely", "runner_up")
EXPLORATION_COUNTS = ("parent", "global")
PRIORS = (None, "edits", "learned")


@dataclass(frozen=True)
class SearchConfig:
    name: str = "mcts"  # which search: a key of search.SEARCHES
    simulations: int = 200  # MCTS simulations; for baselines, the budget of chain evaluations
    exploration: float = 1.8  # UCB exploration constant
    # UCT takes ln(parent visits) in the exploration term; "global" is the CoLa reference's
    # ln(simulations so far), which is the same for every sibling set.
    exploration_count: str = "parent"
    # Progressive widening: a node holds at most ceil(widening * sqrt(visits)) children before
    # selection descends through it; 0 expands every child first (about 89 per node at L=30).
    widening: float = 0.0
    # "edits": expand first the untried edit whose kind and layer raised the reward most where
    # this search already tried it (unknown edits count as 0); "learned": the edit that led other
    # (validation) questions to gold rather than to a placebo most, read from ``prior_file``;
    # None expands in random order.
    prior: str | None = None
    prior_file: str | None = None
    length_penalty: float = 3.0  # UCB subtracts length_penalty * len(chain) / L
    random_prob: float = 0.1  # chance of taking a uniformly random child during selection
    max_random_edits: int = 4  # random baseline: each chain is 1..this many random edits of the full chain
    edits: EditConfig = field(default_factory=EditConfig)
    stop: StopRule = field(default_factory=StopRule)
    # Read by the harness, not the search: "placebo" also runs the same search aimed at a wrong
    # answer on every originally-wrong sample, the fair null for its correction rate;
    # "placebo_all" runs it on originally-correct samples too, the null for shortening (how short
    # a chain picking a wrong answer gets).
    control: str | None = None
    # Read by the harness too: "binary" rewards 1/0 correctness; "margin" adds the target
    # answer's score margin over the best other choice, (correct + sigmoid(margin)) / 2, so a
    # near miss outranks a rout while "correct" stays what counts as success.
    reward: str = "binary"
    # reward="faithful" (no answer key): a chain is rewarded when it picks the full chain's answer
    # with KL(full || chain) over the choice distribution within this many nats; control="reach"
    # then also runs the same search aimed at the full chain's distribution with its two least
    # likely choices swapped, the null for how short a faithful chain gets.
    faithful_kl: float = 0.05
    # reward="faithful" on generation: the chain's greedy tokens equal the full chain's for this many
    # first tokens; None: all of the full chain's answer.
    faithful_tokens: int | None = None
    # control="reach" on multiple choice: "least_likely" swaps the full chain's two least likely
    # choices' probabilities (the answer stays); "runner_up" swaps its two most likely, so the
    # target's answer differs from the full chain's and no faithful chain meets it at any bound.
    reach_target: str = "least_likely"
    # search=sample: the temperature of the full chain's answer distribution it draws from;
    # search=sample_matched reads its temperature from ``temperature_file`` instead, the one
    # scripts/studies/match_temperature.py chose on a validation split.
    temperature: float = 1.0
    temperature_file: str | None = None

    @property
    def guesses(self) -> bool:
        """Whether this search tries the full chain's own answers rather than chains."""
        return self.name in GUESS_SEARCH_NAMES

    def __post_init__(self):
        if self.simulations < 1:
            raise ValueError(f"simulations must be >= 1, got {self.simulations}")
        if not 0.0 <= self.random_prob <= 1.0:
            raise ValueError(f"random_prob must be in [0, 1], got {self.random_prob}")
        if self.name not in SEARCH_NAMES:
            raise ValueError(f"unknown search {self.name!r}; choose from {', '.join(SEARCH_NAMES)}")
        for field_name, allowed in (
            ("control", CONTROLS),
            ("reward", REWARDS),
            ("exploration_count", EXPLORATION_COUNTS),
            ("prior", PRIORS),
        ):
            if getattr(self, field_name) not in allowed:
                raise ValueError(f"unknown {field_name} {getattr(self, field_name)!r}; choose from {allowed}")
        if (self.prior == "learned") != (self.prior_file is not None):
            raise ValueError("prior=learned takes a prior_file, and a prior_file needs prior=learned")
        if self.name == "descent" and self.prior == "edits":
            raise ValueError("search descent takes prior=learned or no prior, not prior=edits")
        if self.control == "placebo_all" and self.stop.enabled:
            raise ValueError(
                "control=placebo_all needs search.stop.enabled=false: with the early stop the gold search "
                "ends at a chain 2 layers shorter and the twin at any placebo chain, so their lengths do not compare"
            )
        if (self.name == "sample_matched") != (self.temperature_file is not None):
            raise ValueError("search=sample_matched takes a temperature_file, and only it does")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.name in GUESS_SEARCH_NAMES and self.prior is not None:
            raise ValueError(f"search {self.name} draws answers, not edits: it takes no prior")
        if self.reward == "faithful" and self.stop.enabled:
            raise ValueError(
                "reward=faithful needs search.stop.enabled=false: the early stop ends at a correction or a "
                "2-layer saving, while a faithful search looks for the shortest faithful chain"
            )
        if (self.control == "reach") != (self.reward == "faithful" and self.control is not None):
            raise ValueError("control=reach is the control of reward=faithful, and the only one it takes")
        if self.reward == "faithful" and self.name in GUESS_SEARCH_NAMES:
            raise ValueError(f"search {self.name} draws answers, not chains: it has no faithful reward")
        if self.reach_target not in REACH_TARGETS:
            raise ValueError(f"unknown reach_target {self.reach_target!r}; expected one of {REACH_TARGETS}")
        if self.reach_target != "least_likely" and self.control != "reach":
            raise ValueError("reach_target is read by control=reach only")
        if self.faithful_tokens is not None and self.faithful_tokens < 1:
            raise ValueError(f"faithful_tokens must be at least 1, got {self.faithful_tokens}")
        if self.faithful_kl < 0:
            raise ValueError(f"faithful_kl must be >= 0, got {self.faithful_kl}")
        if self.widening < 0:
            raise ValueError(f"widening must be >= 0, got {self.widening}")
        if self.max_random_edits < 1:
            raise ValueError(f"max_random_edits must be >= 1, got {self.max_random_edits}")
