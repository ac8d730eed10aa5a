"""Prompt rendering, following lm-evaluation-harness conventions (documented in the README).

* ARC ``loglikelihood``: context ``"Question: {q}\\nAnswer:"``, continuation ``" " + choice``
  (lm-eval ``arc_easy.yaml``).
* ARC ``letter``: the choices listed with their labels, answer read from the label token.
* GSM8K ``cot``: k-shot ``"Question: {q}\\nAnswer: {solution}"`` from the train split (lm-eval
  ``gsm8k.yaml``); ``direct``: the model is asked for the final number only.

With ``chat=True`` the same text goes into the tokenizer's chat template as the user turn, and the
assistant turn is opened for the answer.
"""

from __future__ import annotations

from benchmarks.datasets import ChoiceExample, MathExample
from cola.inference import render_chat

LETTER_INSTRUCTION = "Answer with the label of the correct choice only."
DIRECT_INSTRUCTION = "Give only the final answer as a number, with no explanation."


def arc_context(example: ChoiceExample, *, tokenizer=None, chat: bool = False) -> str:
    text = f"Question: {example.question}\nAnswer:"
    return render_chat(tokenizer, [("user", text)]) if chat else text


def arc_continuation(choice_text: str, *, chat: bool = False) -> str:
    return choice_text if chat else " " + choice_text


def arc_letter_prompt(example: ChoiceExample, *, tokenizer=None, chat: bool = False) -> str:
    listed = "\n".join(f"{choice.label}. {choice.text}" for choice in example.choices)
    if chat:
        return render_chat(tokenizer, [("user", f"{example.question}\n{listed}\n{LETTER_INSTRUCTION}")])
    return f"Question: {example.question}\n{listed}\nAnswer:"


def letter_candidate(label: str, *, chat: bool) -> str:
    """The text whose single token stands for ``label`` right after the prompt."""
    return label if chat else " " + label


def gsm8k_prompt(
    example: MathExample, *, mode: str, shots: list[MathExample] = (), tokenizer=None, chat: bool = False
) -> str:
    if mode == "direct":
        text = f"Question: {example.question}\n{DIRECT_INSTRUCTION}"
        return render_chat(tokenizer, [("user", text)]) if chat else f"{text}\nAnswer:"
    if mode != "cot":
        raise ValueError(f"unknown GSM8K mode {mode!r}; expected 'cot' or 'direct'")
    if chat:
        turns = []
        for shot in shots:
            turns += [("user", f"Question: {shot.question}"), ("assistant", shot.solution)]
        return render_chat(tokenizer, [*turns, ("user", f"Question: {example.question}")])
    blocks = [f"Question: {shot.question}\nAnswer: {shot.solution}" for shot in shots]
    return "\n\n".join([*blocks, f"Question: {example.question}\nAnswer:"])
