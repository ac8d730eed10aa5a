"""search=sample_matched's temperature, chosen on validation questions: draws from the full chain's
choice distribution change its answer as often as random chains do. Reads a ``search=random
search.stop.enabled=false`` run's records (the early stop would end a question's chains at its
first correct one); no answer key is read."""

from __future__ import annotations

import numpy as np

from search.guesses import change_share, matched_temperature


def random_change_share(records: list[dict]) -> float:
    """The share of random chains (beyond the full one) that change the full chain's answer,
    averaged over questions."""
    shares = [
        np.mean([prediction != r["original_prediction"] for prediction in r["predictions"][1:]])
        for r in records
        if len(r["predictions"]) > 1
    ]
    return float(np.mean(shares))


def check_random_records(records: list[dict], where: str) -> None:
    """Refuse records the matching cannot read, naming every problem."""
    if not records:
        raise ValueError(f"{where} holds no records")
    problems = {
        "a test split (match on validation questions)": any(r["split"] == "test" for r in records),
        "another search than random": any(r["search"] != "random" for r in records),
        "records without predictions or full-chain scores (rerun with this version)": any(
            "predictions" not in r or "full_scores" not in r for r in records
        ),
        "early-stopped questions (run with search.stop.enabled=false)": any(
            r["stopped_early"] for r in records
        ),
    }
    if bad := [problem for problem, found in problems.items() if found]:
        raise ValueError(f"{where} has {'; '.join(bad)}")


def temperature_choice(records: list[dict], source: str) -> dict:
    """The matched temperature with what it was matched on (the temperature file's content)."""
    check_random_records(records, source)
    target = random_change_share(records)
    scores = [r["full_scores"] for r in records]
    temperature = matched_temperature(scores, target)
    at = {t: float(np.mean([change_share(s, t) for s in scores])) for t in (1.0, temperature)}
    return {
        "temperature": temperature,
        "model": records[0]["model"],
        "benchmark": records[0]["benchmark"],
        "split": records[0]["split"],
        "n_questions": len(records),
        "random_change_share": target,
        "sample_change_share": at[temperature],
        "sample_change_share_at_t1": at[1.0],
        "source": source,
    }
