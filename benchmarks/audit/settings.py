"""What an audit runs: the task, how many questions of each split, the searches with their
controls, the engine and the seed. Built by ``scripts/audit.py`` from its Hydra presets; plain
dataclasses here, so the stage graph imports no Hydra."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from benchmarks.tasks import TaskConfig
from cola.engine import EngineConfig
from search.config import SearchConfig

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class AuditSettings:
    preset: str
    task: TaskConfig  # its split is ignored: each stage names its own
    questions: dict[str, int | None]  # per split; None = the whole split, 0 = none
    searches: dict[str, SearchConfig] = field(default_factory=dict)  # run on test, with their twins
    engine: EngineConfig = field(default_factory=EngineConfig)
    seed: int = 0
    calibration: bool = True
    # search=sample_matched's temperature is matched on validation: random chains without the early
    # stop, on this many validation questions (None: all)
    matching: SearchConfig | None = None
    matching_questions: int | None = None
    # faithful depth: the search rewarded for the full chain's own answer (no answer key), beside its
    # reach control (the same search aimed at the full chain's distribution with two choices swapped)
    faithful: SearchConfig | None = None
    # the label-free static chain: single edits raced on train, the path stopped on validation
    static_race: bool = False
    # the block router (Dr.LLM's form): trained toward the chains a search (early stop off) finds on
    # this many train questions (None: all), read on test
    router: SearchConfig | None = None
    router_questions: int | None = None
    # the field's methods from every exit's scores (train records hold the exits alone)
    field_methods: bool = False
    exits: tuple[int, ...] | None = None  # None: every exit

    def __post_init__(self):
        if unknown := set(self.questions) - set(SPLITS):
            raise ValueError(f"questions per split name {sorted(unknown)}; the splits are {SPLITS}")
        if any(n is not None and n < 0 for n in self.questions.values()):
            raise ValueError(f"a split's question count must be 0 or more, got {self.questions}")
        if self.task.mode != "loglikelihood":
            raise ValueError(
                f"the audit reads choice scores: it needs benchmark.mode=loglikelihood, not {self.task.mode}"
            )
        if self.calibration and not all(self.questions.get(split) != 0 for split in SPLITS):
            raise ValueError(
                "the calibration is fit on train, its ridge chosen on validation, read on test: "
                "give each split some questions, or audit.calibration=false"
            )

        if self.field_methods and not all(self.questions.get(split) != 0 for split in SPLITS):
            raise ValueError(
                "the field's methods learn on train and validation and read test: give each split "
                "some questions, or audit.field_methods=false"
            )
        if self.router_questions is not None and self.router_questions < 1:
            raise ValueError(f"router_questions must be 1 or more (null: all), got {self.router_questions}")
        if self.router is not None and self.questions.get("train") == 0:
            raise ValueError(
                "the router learns from searches on train: give train some questions, or audit.router=false"
            )
        if "sample_matched" in self.searches and self.matching is None:
            raise ValueError("search sample_matched needs the random search its temperature is matched to")

    def split_task(self, split: str) -> TaskConfig:
        return replace(self.task, split=split)
