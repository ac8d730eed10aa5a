"""Benchmark examples turned into model inputs, and model outputs turned into graded answers.

A *query* is everything one example needs under any chain: token ids ready for the composer and
a rule that grades what the model produced. Multiple-choice queries are answered by one forward
pass (``score``); GSM8K queries by greedy generation (``grade``). Search reuses queries unchanged,
so a chain is scored exactly as the evaluation harness scores it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch

from benchmarks.datasets import ChoiceExample, MathExample
from benchmarks.grading import (
    cut_at_stop,
    exact_match,
    extract_answer,
    first_number_settled,
    math_verify_match,
)
from benchmarks.packed import PackedChoices, target_log_probs
from benchmarks.prompts import (
    arc_context,
    arc_continuation,
    arc_letter_prompt,
    gsm8k_prompt,
    letter_candidate,
)
from cola.inference import encode

Head = Callable[[torch.Tensor], torch.Tensor]
"""Final norm + LM head: hidden (N, H) -> logits (N, V)."""

GSM8K_STOP = ("Question:", "</s>", "<|im_end|>", "<|endoftext|>", "\n\n")


@dataclass(frozen=True)
class ChoiceOutcome:
    prediction: int
    correct: bool
    scores: list[float]
    prediction_norm: int | None = None  # loglikelihood mode: argmax of length-normalized scores
    correct_norm: bool | None = None


@dataclass(frozen=True)
class LetterQuery:
    """ARC ``letter`` mode: one sequence; the answer is the label token with the highest logit."""

    example_id: str
    prompt: str
    input_ids: torch.Tensor  # (1, T)
    candidate_ids: tuple[int, ...]
    gold: int
    metric: str = "acc"

    @property
    def attention_mask(self) -> None:
        return None

    def score(self, hidden: torch.Tensor, head: Head) -> ChoiceOutcome:
        logits = head(hidden[:, -1])[0, list(self.candidate_ids)]
        prediction = int(logits.argmax())
        return ChoiceOutcome(prediction, prediction == self.gold, logits.tolist())


@dataclass(frozen=True)
class LoglikelihoodQuery:
    """ARC ``loglikelihood`` mode (lm-eval): one row per choice, sum of continuation log-probs."""

    example_id: str
    prompt: str
    input_ids: torch.Tensor  # (n_choices, T), right-padded: context tokens + continuation tokens
    attention_mask: torch.Tensor
    context_lengths: tuple[int, ...]  # tokens of the context in each row
    continuation_ids: tuple[tuple[int, ...], ...]
    choice_chars: tuple[int, ...]  # acc_norm divides by the choice text's length in characters
    gold: int
    metric: str = "acc"  # which of acc / acc_norm decides `correct` for search
    positions: torch.Tensor = field(init=False, repr=False)
    targets: torch.Tensor = field(init=False, repr=False)  # every continuation token, choice by choice
    packed: PackedChoices = field(init=False, repr=False)

    def __post_init__(self):
        rows, cols = [], []
        for row, (start, continuation) in enumerate(
            zip(self.context_lengths, self.continuation_ids, strict=True)
        ):
            rows += [row] * len(continuation)
            cols += range(start - 1, start - 1 + len(continuation))  # position p predicts token p+1
        object.__setattr__(self, "positions", (torch.tensor(rows), torch.tensor(cols)))
        targets = [token for continuation in self.continuation_ids for token in continuation]
        object.__setattr__(self, "targets", torch.tensor(targets))
        context = self.input_ids[0, : self.context_lengths[0]].tolist()
        object.__setattr__(self, "packed", PackedChoices.build(context, self.continuation_ids))

    def score(self, hidden: torch.Tensor, head: Head) -> ChoiceOutcome:
        """Score from the row form's final hidden states (n_choices, T, H)."""
        logits = head(hidden[self.positions]).float()
        return self.choice_outcome(target_log_probs(logits, torch.arange(len(logits)), self.targets))

    def score_packed_many(self, hiddens: list[torch.Tensor], head: Head) -> list[ChoiceOutcome]:
        """Score several chains' packed final hidden states (each 1, N, H) with one LM-head call: the head's
        matrix product costs half as much per row on a few hundred rows as on a few dozen."""
        return self.score_rows_many([hidden[0, self.packed.scored] for hidden in hiddens], head)

    def score_rows_many(self, rows: list[torch.Tensor], head: Head) -> list[ChoiceOutcome]:
        """Score hidden states already taken at the packed form's scored positions (each (S, H),
        e.g. every exit of one chain) with one LM-head call."""
        predictors = self.packed.scored_index
        logits = head(torch.cat(rows)).float()
        return [
            self.choice_outcome(target_log_probs(part, predictors, self.targets))
            for part in logits.split(len(self.packed.scored))
        ]

    def choice_outcome(self, token_scores: torch.Tensor) -> ChoiceOutcome:
        """The outcome from each continuation token's score, choice by choice (summed per choice)."""
        token_scores = token_scores.cpu()
        scores = torch.zeros(len(self.continuation_ids)).index_add_(0, self.positions[0], token_scores)
        normalized = scores / torch.tensor(self.choice_chars, dtype=scores.dtype)
        prediction, prediction_norm = int(scores.argmax()), int(normalized.argmax())
        correct = (prediction_norm if self.metric == "acc_norm" else prediction) == self.gold
        return ChoiceOutcome(
            prediction,
            correct,
            scores.tolist(),
            prediction_norm=prediction_norm,
            correct_norm=prediction_norm == self.gold,
        )


@dataclass(frozen=True)
class GenerationQuery:
    """GSM8K: greedy generation, cut at stop strings, number extracted and graded."""

    example_id: str
    prompt: str
    input_ids: torch.Tensor  # (1, T)
    gold: str
    mode: str
    max_new_tokens: int
    stop_strings: tuple[str, ...] = GSM8K_STOP

    @property
    def attention_mask(self) -> None:
        return None

    def answer_settled(self, generated: str) -> bool:
        """Whether more tokens could still change the graded answer (``direct`` mode's first
        number); decoding past that point costs time and changes nothing."""
        return self.mode == "direct" and first_number_settled(cut_at_stop(generated, self.stop_strings))

    def grade(self, generated: str) -> dict:
        text = cut_at_stop(generated, self.stop_strings)
        prediction = extract_answer(text, mode=self.mode)
        correct = math_verify_match(prediction, self.gold)
        return {
            "generation": text,
            "prediction": prediction,
            "correct": correct,
            "exact_match": exact_match(prediction, self.gold),
        }


Query = LetterQuery | LoglikelihoodQuery | GenerationQuery


def context_ids(query: Query) -> torch.Tensor:
    """The (1, T) tokens a query shows before any answer: what a chain policy reads to choose."""
    ids = query.input_ids[:1]
    if isinstance(query, LoglikelihoodQuery):
        return ids[:, : query.context_lengths[0]]
    return ids


def query_fields(query: Query) -> dict:
    """What a result record keeps of a query besides its prompt: the gold answer and, for
    multiple choice, the token ids that were scored."""
    if isinstance(query, LetterQuery):
        return {"candidate_ids": list(query.candidate_ids), "gold": query.gold}
    if isinstance(query, GenerationQuery):
        return {"gold": query.gold}
    return {
        "continuation_ids": [list(ids) for ids in query.continuation_ids],
        "choice_chars": list(query.choice_chars),  # what acc_norm divides by; a calibration reads it
        "gold": query.gold,
    }


def _single_token_ids(tokenizer, labels: list[str], *, chat: bool) -> list[int] | None:
    ids = [
        tokenizer(letter_candidate(label, chat=chat), add_special_tokens=False).input_ids for label in labels
    ]
    return [token[0] for token in ids] if all(len(token) == 1 for token in ids) else None


def letter_query(example: ChoiceExample, tokenizer, *, chat: bool) -> LetterQuery:
    """Choices shown with their own labels when each label is one token after the prompt;
    otherwise (e.g. ``" 1"`` is two tokens in SmolLM2's tokenizer) relabeled A, B, C... by position,
    as the CoLa reference does for every question."""
    labels = [choice.label for choice in example.choices]
    candidates = _single_token_ids(tokenizer, labels, chat=chat)
    if candidates is None:
        labels = [chr(ord("A") + index) for index in range(len(labels))]
        example = replace(
            example,
            choices=tuple(replace(c, label=new) for c, new in zip(example.choices, labels, strict=True)),
            answer=labels[example.gold_index],
        )
        candidates = _single_token_ids(tokenizer, labels, chat=chat)
        if candidates is None:
            raise ValueError(
                f"neither the labels of {example.id} nor A-E are single tokens for this tokenizer"
            )
    prompt = arc_letter_prompt(example, tokenizer=tokenizer, chat=chat)
    ids = torch.tensor([encode(tokenizer, prompt, chat=chat)])
    return LetterQuery(example.id, prompt, ids, tuple(candidates), example.gold_index)


def loglikelihood_query(
    example: ChoiceExample, tokenizer, *, chat: bool, metric: str = "acc"
) -> LoglikelihoodQuery:
    context = arc_context(example, tokenizer=tokenizer, chat=chat)
    context_ids = encode(tokenizer, context, chat=chat)
    rows, context_lengths, continuations = [], [], []
    for choice in example.choices:
        # lm-eval encodes context + continuation whole, takes the tokens past the context's,
        # and feeds the context's own tokens followed by those.
        whole = encode(tokenizer, context + arc_continuation(choice.text, chat=chat), chat=chat)
        start = len(context_ids)
        if len(whole) <= start:
            raise ValueError(f"choice {choice.label!r} of {example.id} adds no tokens to the context")
        rows.append(context_ids + whole[start:])
        context_lengths.append(start)
        continuations.append(tuple(whole[start:]))
    width = max(len(row) for row in rows)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    input_ids = torch.tensor([row + [pad] * (width - len(row)) for row in rows])
    attention_mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in rows])
    return LoglikelihoodQuery(
        example.id,
        context,
        input_ids,
        attention_mask,
        tuple(context_lengths),
        tuple(continuations),
        tuple(len(choice.text) for choice in example.choices),
        example.gold_index,
        metric,
    )


def generation_query(
    example: MathExample, tokenizer, *, mode: str, chat: bool, shots: list[MathExample], max_new_tokens: int
) -> GenerationQuery:
    prompt = gsm8k_prompt(example, mode=mode, shots=shots, tokenizer=tokenizer, chat=chat)
    ids = torch.tensor([encode(tokenizer, prompt, chat=chat)])
    return GenerationQuery(example.id, prompt, ids, example.answer, mode, max_new_tokens)
