"""The calibration with every layer's exit as features: does any layer know what the final layer's
scores lack? The conditional logit of :mod:`benchmarks.learners.calibration`, its features the
final layer's (as there) plus each chosen exit's choice score and score per token, fit on train
exit records with the ridge validation picks, read on test records without a forward pass.
Beside it, the field's other output-side methods answered on the same records
(``field_method_answers``): acc_norm, domain-conditional PMI, DoLa (its static layer chosen on
validation; both dynamic buckets) and the final-layer calibration."""

from __future__ import annotations

import numpy as np

from benchmarks.analysis.exit_policies import acc_norm, answered, dola, full_chain, pmi
from benchmarks.learners.calibration import ChoiceData, fit_on_validation, predictions
from benchmarks.learners.dola_choice import best_static, variant_accuracy
from cola.choice_calibration import MAX_POSITIONS, ChoiceCalibration, choice_features


def exit_columns(record: dict, exits: list[int]) -> np.ndarray:
    """(choices, 2 * len(exits)): each exit's choice score and its score per token."""
    tokens = np.maximum(np.asarray(record["choice_tokens"], dtype=float), 1.0)
    columns = []
    for exit_ in exits:
        if exit_ not in record["exits"]:
            raise ValueError(f"record {record['id']!r} holds exits {record['exits']}, not {exit_}")
        scores = np.asarray(record["exit_scores"][record["exits"].index(exit_)], dtype=float)
        columns += [scores, scores / tokens]
    return np.column_stack(columns) if columns else np.zeros((len(tokens), 0))


def exit_choice_data(records: list[dict], exits: list[int]) -> ChoiceData:
    """Exit records as the calibration's padded arrays: the final layer's choice features, then
    the ``exits``' columns (none: the final-layer calibration on the same records)."""
    width = None
    rows, valid = [], np.zeros((len(records), MAX_POSITIONS), dtype=bool)
    for row, record in enumerate(records):
        final = record["exit_scores"][record["exits"].index(record["n_layers"])]
        features = np.column_stack(
            [
                choice_features(final, record["choice_chars"], record["choice_tokens"]),
                exit_columns(record, exits),
            ]
        )
        width = features.shape[1]
        padded = np.zeros((MAX_POSITIONS, width))
        padded[: len(final)] = features
        rows.append(padded)
        valid[row, : len(final)] = True
    features = np.stack(rows) if rows else np.zeros((0, MAX_POSITIONS, width or 0))
    return ChoiceData(features, valid, np.array([r["gold"] for r in records]), [r["id"] for r in records])


def fit_exit_calibration(
    train: list[dict], validation: list[dict], exits: list[int]
) -> tuple[ChoiceCalibration, float, dict[float, float]]:
    """Fit on ``train`` with the ridge of best ``validation`` accuracy (no test record is read)."""
    return fit_on_validation(exit_choice_data(train, exits), exit_choice_data(validation, exits))


def answered_records(
    calibration: ChoiceCalibration, records: list[dict], exits: list[int], name: str
) -> list[dict]:
    """Each record answered by the calibration, as the policy table reads records (one full-chain
    pass per question: the exits ride along, so it runs every layer)."""
    chosen = predictions(calibration, exit_choice_data(records, exits))
    return [
        {
            "id": record["id"],
            "policy": name,
            "gold": record["gold"],
            "prediction": int(prediction),
            "correct": bool(prediction == record["gold"]),
            "chain_length": record["n_layers"],
            "seconds": None,
        }
        for record, prediction in zip(records, chosen, strict=True)
    ]


def check_splits(train: list[dict], validation: list[dict], read: list[dict], read_split: str) -> None:
    splits = {
        name: {r["split"] for r in records}
        for name, records in zip(("train", "validation", read_split), (train, validation, read), strict=True)
    }
    if any(found != {name} for name, found in splits.items()):
        raise ValueError(f"each run must hold its own split's records; found {splits}")


def stacked_exits(records: list[dict]) -> list[int]:
    """Every exit the records hold but the final one (its scores are in the calibration already)."""
    return [exit_ for exit_ in records[0]["exits"] if exit_ != records[0]["n_layers"]]


def field_method_answers(
    train: list[dict], validation: list[dict], read: list[dict], exits: list[int] | None = None
) -> dict[str, list[dict]]:
    """Each method's answers on ``read`` (test, or validation for a look used to choose), learned
    from ``train`` and ``validation`` only."""
    exits = stacked_exits(read) if exits is None else exits
    variant = best_static(variant_accuracy(validation))
    final_only, _, _ = fit_exit_calibration(train, validation, [])
    stacked, _, _ = fit_exit_calibration(train, validation, exits)
    runs = {
        "full chain": answered(read, full_chain),
        "acc_norm": answered(read, acc_norm),
        "PMI": answered(read, pmi),
        f"DoLa {variant}": answered(read, dola(variant)),
        "DoLa low": answered(read, dola("low")),
        "DoLa high": answered(read, dola("high")),
        "calibration": answered_records(final_only, read, [], "calibration"),
        "exit calibration": answered_records(stacked, read, exits, "exit calibration"),
    }
    for name in ("calibration", "exit calibration"):  # the policy table pairs on benchmark rows
        runs[name] = [
            r | {"benchmark": t["benchmark"], "split": t["split"]}
            for r, t in zip(runs[name], read, strict=True)
        ]
    return runs
