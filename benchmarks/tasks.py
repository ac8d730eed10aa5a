"""A task = benchmark + split + prompt mode; it turns examples into queries for any chain."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.datasets import ChoiceExample, Example, benchmark_spec, load_benchmark
from benchmarks.queries import Query, generation_query, letter_query, loglikelihood_query
from cola.inference import uses_chat

CHOICE_MODES = ("loglikelihood", "letter")
MATH_MODES = ("direct", "cot")
DEFAULT_MAX_NEW_TOKENS = {"direct": 16, "cot": 256}


@dataclass(frozen=True)
class TaskConfig:
    benchmark: str
    split: str = "test"
    mode: str = "loglikelihood"
    chat: bool | None = False  # None: the model's chat template when it has one, else plain text
    metric: str = "acc"  # loglikelihood mode: acc or acc_norm decides `correct`
    n_shots: int = 0  # GSM8K cot: exemplars from the train split
    max_new_tokens: int | None = None
    path: str | None = None

    def __post_init__(self):
        kind = benchmark_spec(self.benchmark).kind
        modes = CHOICE_MODES if kind == "choice" else MATH_MODES
        if self.mode not in modes:
            raise ValueError(f"mode {self.mode!r} is not valid for {self.benchmark}; choose from {modes}")
        if self.metric not in ("acc", "acc_norm"):
            raise ValueError(f"metric must be 'acc' or 'acc_norm', got {self.metric!r}")

    @property
    def new_tokens(self) -> int:
        return self.max_new_tokens or DEFAULT_MAX_NEW_TOKENS[self.mode]


def load_examples(task: TaskConfig, *, limit: int | None = None) -> list[Example]:
    return load_benchmark(task.benchmark, split=task.split, limit=limit, path=task.path)


def build_query(example: Example, tokenizer, task: TaskConfig, *, shots: list = ()) -> Query:
    chat = uses_chat(tokenizer, task.chat)  # a base model has no template: plain text, or an error if asked
    if isinstance(example, ChoiceExample):
        if task.mode == "letter":
            return letter_query(example, tokenizer, chat=chat)
        return loglikelihood_query(example, tokenizer, chat=chat, metric=task.metric)
    return generation_query(
        example, tokenizer, mode=task.mode, chat=chat, shots=list(shots), max_new_tokens=task.new_tokens
    )


def build_queries(examples: list[Example], tokenizer, task: TaskConfig) -> list[Query]:
    shots = []
    if task.mode == "cot" and task.n_shots:
        shots = load_benchmark(task.benchmark, split="train", limit=task.n_shots)
    return [build_query(example, tokenizer, task, shots=shots) for example in examples]
