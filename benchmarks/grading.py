"""Answer extraction and grading for GSM8K, following lm-evaluation-harness's gsm8k task.

Extraction (lm-eval ``gsm8k.yaml``): *strict* takes the number after ``#### ``; *flexible*
takes the last number in the text. ``direct`` mode answers with the number first, so it takes
the first number. Grading uses math-verify, with an exact decimal comparison recorded beside
it as a cross-check.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

STRICT = re.compile(r"#### (\-?[0-9\.\,]+)")
# lm-eval's flexible-extract pattern: a signed run of digits, '$', '.' and ',' (or a lone digit).
NUMBER = re.compile(r"(-?[$0-9.,]{2,})|(-?[0-9]+)")


def normalize_number(text: str) -> str | None:
    """``'$1,234.50.'`` -> ``'1234.50'``; ``None`` when no digit is left."""
    cleaned = text.replace("$", "").replace(",", "").strip().rstrip(".")
    if not re.search(r"[0-9]", cleaned):
        return None
    return cleaned


def _numbers(text: str) -> list[str]:
    found = []
    for match in NUMBER.finditer(text):
        number = normalize_number(match.group(0))
        if number is not None:
            found.append(number)
    return found


def extract_strict(text: str) -> str | None:
    match = STRICT.search(text)
    return normalize_number(match.group(1)) if match else None


def extract_flexible(text: str) -> str | None:
    numbers = _numbers(text)
    return numbers[-1] if numbers else None


def extract_first(text: str) -> str | None:
    numbers = _numbers(text)
    return numbers[0] if numbers else None


def first_number_settled(text: str) -> bool:
    """Whether no continuation of ``text`` can change :func:`extract_first`'s answer: the first
    number is followed by a character that cannot extend it. Text is only ever appended to, so
    a match that ends before the end of the text is final, and no earlier match can appear."""
    for match in NUMBER.finditer(text):
        if normalize_number(match.group(0)) is not None:
            return match.end() < len(text)
    return False


def extract_answer(text: str, *, mode: str) -> str | None:
    """The predicted number for ``mode`` ``cot`` (strict, else flexible) or ``direct`` (first)."""
    if mode == "cot":
        return extract_strict(text) or extract_flexible(text)
    if mode == "direct":
        return extract_first(text)
    raise ValueError(f"unknown GSM8K mode {mode!r}; expected 'cot' or 'direct'")


def exact_match(prediction: str | None, gold: str) -> bool:
    if prediction is None:
        return False
    try:
        return Decimal(prediction) == Decimal(gold)
    except InvalidOperation:
        return False


def math_verify_match(prediction: str | None, gold: str) -> bool:
    if prediction is None:
        return False
    from math_verify import parse, verify

    return bool(verify(parse(gold), parse(prediction)))


def cut_at_stop(text: str, stop_strings: tuple[str, ...]) -> str:
    """Text before the earliest stop string (the stop string itself is dropped)."""
    cut = len(text)
    for stop in stop_strings:
        index = text.find(stop)
        if index != -1:
            cut = min(cut, index)
    return text[:cut]
