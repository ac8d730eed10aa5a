"""Is the equal-margin test calibrated? Simulated chains that know nothing, on the real questions.

Each synthetic data set keeps the real wrong questions (their full-chain scores, gold, placebo and
choice lengths) and replaces the chains by knowledge-free perturbations of the full chain's scores:
``scores + noise_q * N(0, 1) - kappa * centred length``, with a per-question noise scale
(``noise * exp(N(0, 0.5^2))``: questions differ in how fragile they are) and a per-chain length
pull ``kappa = |N(0, length_bias^2)|`` (damaged chains favour short answers). A chain's landing is
the perturbed argmax. Nothing in it depends on which choice is gold, so the true is-gold effect is
zero, and a 95% interval should cover zero on 95% of data sets. ``planted`` adds that many nats to
gold's perturbed score: a real effect, whose true size on the probability scale is computed by
Monte Carlo from the same simulator (reach with the plant less reach without, over gold targets).

Per search (the descent records' questions): the search and its twin each draw ``budget`` chains,
reaching their target when one lands on it. Per chain (the random records' questions): every chain
is a unit for every non-top choice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from benchmarks.analysis.equal_margin.fit import equal_margin_test
from benchmarks.analysis.equal_margin.units import Units, centred_lengths, chain_units, search_units
from benchmarks.analysis.reach import found_within, wrong_with_twin

TRUTH_DRAWS = 400  # Monte Carlo searches per question for the planted effect's true size
NOISE_GRID = np.round(np.arange(0.5, 8.01, 0.25), 2)


@dataclass(frozen=True)
class Perturbation:
    noise: float  # nats: the median question's score noise per chain
    length_bias: float  # nats per token of centred length: the scale of a chain's pull to short answers
    planted: float = 0.0  # nats added to gold's score: knowledge, when not zero
    length_noise: bool = False  # noise per choice grows as the root of its tokens (summed log-probabilities)


def landings(
    record: dict, perturbation: Perturbation, shape: tuple, rng, *, shared: bool = False
) -> np.ndarray:
    """The choice each of ``shape`` perturbed chains picks. The question's noise scale is drawn once
    per leading index (each Monte Carlo search its own), or once for all with ``shared`` (a search
    and its twin on one question share its fragility)."""
    scores, lengths = np.asarray(record["full_scores"], dtype=float), centred_lengths(record)
    scales = (1 if shared else shape[0], *([1] * len(shape)))
    noise = perturbation.noise * np.exp(0.5 * rng.normal(size=scales))
    if perturbation.length_noise:
        tokens = np.array([len(ids) for ids in record["continuation_ids"]], dtype=float)
        noise = noise * np.sqrt(tokens / tokens.mean())
    pull = np.abs(rng.normal(size=(*shape, 1))) * perturbation.length_bias
    perturbed = scores + noise * rng.normal(size=(*shape, len(scores))) - pull * lengths
    perturbed[..., record["gold"]] += perturbation.planted
    return perturbed.argmax(axis=-1)


def _first_landing(picks: np.ndarray, target: int) -> int | None:
    hits = np.flatnonzero(picks == target)
    return int(hits[0]) + 1 if len(hits) else None


def simulated_search_records(records: list[dict], perturbation: Perturbation, budget: int, rng) -> list[dict]:
    """The originally-wrong questions whose twin ran, their search and twin replaced by draws (the
    two share the question's noise scale)."""
    simulated = []
    for record in wrong_with_twin(records):
        gold_picks, placebo_picks = landings(record, perturbation, (2, budget), rng, shared=True)
        simulated.append(
            record
            | {
                "first_correct_evaluation": _first_landing(gold_picks, record["gold"]),
                "placebo_first_correct_evaluation": _first_landing(placebo_picks, record["placebo"]),
            }
        )
    return simulated


def simulated_chain_records(records: list[dict], perturbation: Perturbation, budget: int, rng) -> list[dict]:
    """The originally-wrong questions, their chains replaced by ``budget`` draws."""
    simulated = []
    for record in _wrong(records):
        picks = landings(record, perturbation, (1, budget), rng)[0]
        simulated.append(record | {"predictions": [record["original_prediction"], *picks.tolist()]})
    return simulated


def _wrong(records: list[dict]) -> list[dict]:
    return [record for record in records if not record["original_correct"]]


def true_effect(records: list[dict], perturbation: Perturbation, budget: int, kind: str, rng) -> float:
    """The planted effect in the test's own terms, over gold targets, by Monte Carlo.

    Per search the test compares gold (searched) with the placebo (searched by the twin) in one
    world, and a plant on gold also draws the twin's chains away from the placebo: the truth is
    gold's gain in reach within ``budget`` plus the placebo's loss. Per chain the conditional
    logit holds each question's share of chains that leave the answer as observed: the truth is
    the planted share of chains that leave times the change in gold's share among them (the
    plant's pull on chains to leave the answer at all is not in it)."""
    plain = Perturbation(perturbation.noise, perturbation.length_bias, 0.0, perturbation.length_noise)
    if kind == "per search":
        effects = []
        for record in wrong_with_twin(records):
            reach = {
                (setting.planted, target): (
                    landings(record, setting, (TRUTH_DRAWS, budget), rng) == record[target]
                )
                .any(axis=1)
                .mean()
                for setting in (perturbation, plain)
                for target in ("gold", "placebo")
            }
            planted = perturbation.planted
            effects.append(
                reach[planted, "gold"]
                - reach[0.0, "gold"]
                + reach[0.0, "placebo"]
                - reach[planted, "placebo"]
            )
        return float(np.mean(effects))
    effects = []
    for record in _wrong(records):
        planted, unplanted = (
            landings(record, setting, (TRUTH_DRAWS, budget), rng) for setting in (perturbation, plain)
        )
        left = [picks != record["original_prediction"] for picks in (planted, unplanted)]
        gold_share = [
            np.mean(picks[off] == record["gold"]) if off.any() else 0.0
            for picks, off in zip((planted, unplanted), left, strict=True)
        ]
        effects.append(left[0].mean() * (gold_share[0] - gold_share[1]))
    return float(np.mean(effects))


def keep_rate(records: list[dict], budget: int) -> float:
    """Share of chains on originally-wrong questions that keep the full chain's answer."""
    kept = [
        prediction == record["original_prediction"]
        for record in _wrong(records)
        for prediction in record["predictions"][1 : budget + 1]
    ]
    return float(np.mean(kept))


def _grid_match(real: float, simulated) -> float:
    """The noise on :data:`NOISE_GRID` whose simulated statistic comes nearest the real one."""
    values = np.array([simulated(noise) for noise in NOISE_GRID])
    return float(NOISE_GRID[int(np.argmin(np.abs(values - real)))])


def matched_noise(random_records: list[dict], length_bias: float, budget: int, rng) -> float:
    """The noise at which simulated chains keep the full answer about as often as the real random
    chains do (on the same questions): random chains' operating point."""
    return _grid_match(
        keep_rate(random_records, budget),
        lambda noise: keep_rate(
            simulated_chain_records(random_records, Perturbation(noise, length_bias), budget, rng), budget
        ),
    )


def placebo_reach(records: list[dict], budget: int) -> float:
    """Share of originally-wrong questions whose twin reached its placebo within ``budget``."""
    return float(np.mean([found_within(r, budget, "placebo_") for r in wrong_with_twin(records)]))


def matched_search_noise(search_records: list[dict], length_bias: float, budget: int, rng) -> float:
    """The noise at which a simulated twin reaches its placebo about as often as the real search's
    twin does: the search's own operating point (a steered search reaches less than random chains)."""
    return _grid_match(
        placebo_reach(search_records, budget),
        lambda noise: placebo_reach(
            simulated_search_records(search_records, Perturbation(noise, length_bias), budget, rng), budget
        ),
    )


def units_of(records: list[dict], kind: str, budget: int) -> Units:
    return search_units(records, budget) if kind == "per search" else chain_units(records, budget)


def coverage(
    records: list[dict],
    kind: str,
    perturbation: Perturbation,
    *,
    budget: int,
    datasets: int,
    resamples: int,
    seed: int,
    operating_point: str = "",
) -> dict:
    """Simulate ``datasets`` data sets on these questions and test each: how often the 95% interval
    of the average effect covers the true effect, the estimates' mean and the intervals' width."""
    rng = np.random.default_rng(seed)
    simulate = simulated_search_records if kind == "per search" else simulated_chain_records
    truth = true_effect(records, perturbation, budget, kind, rng) if perturbation.planted else 0.0
    estimates, covered, widths, rejected = [], [], [], []
    for index in range(datasets):
        units = units_of(simulate(records, perturbation, budget, rng), kind, budget)
        test = equal_margin_test(units, resamples=resamples, seed=seed + index)
        low, high = test["effect_ci"]
        estimates.append(test["effect"])
        covered.append(low <= truth <= high)
        widths.append(high - low)
        rejected.append(not low <= 0 <= high)
    return {
        "kind": kind,
        "perturbation": asdict(perturbation),
        "operating_point": operating_point,
        "datasets": datasets,
        "resamples": resamples,
        "seed": seed,
        "true_effect": truth,
        "coverage": float(np.mean(covered)),
        "rejects_zero": float(np.mean(rejected)),
        "mean_estimate": float(np.mean(estimates)),
        "mean_interval_width": float(np.mean(widths)),
    }
