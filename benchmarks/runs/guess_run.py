"""The model's own tries (``search=sample``, ``sample_matched``, ``rank``) as a search run's record.

No chain is evaluated beyond the full one: a multiple-choice try is an answer drawn from (or
ranked by) the full chain's choice scores in the task's metric; a generation try is a decode of
the full model sampled at the temperature. Try k stands where chain evaluation k stands in a chain
search's record, so the reports read both the same way; the placebo twin reads the same tries.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.evaluator import ChainEvaluator, decisive_scores
from benchmarks.queries import GenerationQuery
from cola import format_chain
from search import SearchConfig
from search.guesses import first_hit, ranked_answers, sampled_answers


def load_matched_temperature(path: str, *, model: str, benchmark: str) -> float:
    """The temperature scripts/studies/match_temperature.py chose on a validation split for this model
    and benchmark; refused when it was chosen on a test split or for another model or benchmark."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(
            f"matched-temperature file not found: {file}; write it with scripts/studies/match_temperature.py"
        )
    chosen = json.loads(file.read_text())
    if chosen.get("split") == "test":
        raise ValueError(f"{file} was matched on a test split; match the temperature on validation questions")
    for key, wanted in (("model", model), ("benchmark", benchmark)):
        if chosen.get(key) != wanted:
            raise ValueError(f"{file} was matched for {key} {chosen.get(key)!r}, not {wanted!r}")
    return float(chosen["temperature"])


def sampled_decodes(evaluator: ChainEvaluator, temperature: float, tries: int, seed: int) -> list[dict]:
    """``tries`` decodes of the full model sampled at ``temperature`` (no top-k or top-p cut), graded."""
    query: GenerationQuery = evaluator.query
    torch.manual_seed(seed)
    with torch.inference_mode():
        output = evaluator.chain_model.model.generate(
            query.input_ids,
            do_sample=True,
            temperature=temperature,
            top_k=0,
            top_p=1.0,
            max_new_tokens=query.max_new_tokens,
            num_return_sequences=tries,
            pad_token_id=evaluator.tokenizer.pad_token_id or evaluator.tokenizer.eos_token_id,
        )
    decoded = evaluator.tokenizer.batch_decode(
        output[:, query.input_ids.shape[1] :], skip_special_tokens=True
    )
    return [query.grade(text) for text in decoded]


def tried_answers(
    evaluator: ChainEvaluator, config: SearchConfig, temperature: float, rng: np.random.Generator
) -> tuple[list, list[bool]]:
    """Each try's answer and whether it is correct, in order."""
    if isinstance(evaluator.query, GenerationQuery):
        if config.name == "rank":
            raise ValueError("search=rank ranks the choices of a multiple-choice benchmark; GSM8K has none")
        graded = sampled_decodes(evaluator, temperature, config.simulations, int(rng.integers(2**31)))
        return [g["prediction"] for g in graded], [bool(g["correct"]) for g in graded]
    full = evaluator.details[tuple(range(evaluator.chain_model.n_layers))]
    scores = decisive_scores(full)
    if config.name == "rank":
        answers = ranked_answers(scores, config.simulations)
    else:
        answers = sampled_answers(scores, temperature, config.simulations, rng)
    return answers, [answer == evaluator.query.gold for answer in answers]


def answered_fields(hits: list[bool], n_layers: int, prefix: str = "") -> dict:
    """The chain-search record fields for tries: the full chain is the only chain, "correct" once
    a try reaches the target."""
    first = first_hit(hits)
    full = format_chain(tuple(range(n_layers)))
    return {
        f"{prefix}correct_chains": [full] if first is not None else [],
        f"{prefix}best_chain": full if first is not None else None,
        f"{prefix}best_length": n_layers if first is not None else None,
        f"{prefix}first_correct_evaluation": first,
    }


def guess_fields(
    evaluator: ChainEvaluator,
    config: SearchConfig,
    temperature: float,
    rng: np.random.Generator,
    *,
    placebo: int | None,
    twin: bool,
) -> dict:
    """A guess search's record fields; with ``twin``, its placebo twin's from the same tries."""
    n_layers = evaluator.chain_model.n_layers
    full = evaluator.outcome(tuple(range(n_layers)))
    start = time.perf_counter()
    answers, hits = tried_answers(evaluator, config, temperature, rng)
    fields = {
        **answered_fields([full["correct"], *hits], n_layers),
        "best_distinct_layers": n_layers if any([full["correct"], *hits]) else None,
        "n_evaluated": 1 + len(answers),
        "iterations": len(answers),
        "stopped_early": False,
        "predictions": [full["prediction"], *answers],
        "temperature": None if config.name == "rank" else temperature,
        "try_seconds": round((time.perf_counter() - start) / max(len(answers), 1), 6),
    }
    if twin and placebo is not None:
        placebo_hits = [prediction == placebo for prediction in fields["predictions"]]
        fields |= answered_fields(placebo_hits, n_layers, "placebo_") | {
            "placebo_n_evaluated": fields["n_evaluated"],
            "placebo_extra_chains": 0,
            "placebo_seconds": 0.0,
            "placebo_predictions": fields["predictions"],
        }
    return fields
