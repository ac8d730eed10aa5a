"""Search chains for every sample of a benchmark and write one record per sample (resumable).

Every requested sample is searched and reported: none is resampled or filtered out. Samples can
be split into shards (``shard_index`` of ``shard_count``) that run as separate processes; each
sample's random generator is seeded from (seed, sample id), so results do not depend on sharding
or on where an interrupted run resumed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from benchmarks.analysis.faithful_summary import summarize_faithful
from benchmarks.analysis.search_summary import summarize_search
from benchmarks.datasets import benchmark_spec, load_benchmark
from benchmarks.evaluator import ChainEvaluator, TargetEvaluator
from benchmarks.machine import machine_state
from benchmarks.queries import Query
from benchmarks.results import ResultsLog, claim_run_dir, file_sha256, write_json
from benchmarks.runs.faithful_search import faithful_fields
from benchmarks.runs.guess_run import guess_fields, load_matched_temperature
from benchmarks.runs.search_record import (
    SearchRun,
    chain_search_fields,
    draw_placebo,
    n_choices,
    placebo_rng,
    ranking_fields,
    sample_rng,
    search_fields,
    search_record,
    shard_of,
)
from benchmarks.tasks import TaskConfig, build_query, load_examples
from cola import ChainModel
from cola.engine import EngineConfig
from search import CORRECT, SearchConfig, SearchResult, check_prior_file, search_function

logger = logging.getLogger(__name__)


def sample_placebo(query: Query, evaluator: ChainEvaluator, run: SearchRun) -> int | None:
    full = evaluator.outcome(tuple(range(evaluator.chain_model.n_layers)))
    return draw_placebo(
        query.gold, full["prediction"], n_choices(query), placebo_rng(run.seed, query.example_id)
    )


def needs_twin(original_correct: bool, placebo: int | None, search_config: SearchConfig) -> bool:
    """The twin runs on originally-wrong samples with a placebo (on every such sample with
    ``control="placebo_all"``)."""
    return placebo is not None and (not original_correct or search_config.control == "placebo_all")


def placebo_twin(
    evaluator: ChainEvaluator,
    result: SearchResult,
    placebo: int | None,
    run: SearchRun,
    search_config,
    example_id: str,
) -> dict:
    """The same search, budget and seed stream aimed at the placebo answer, where it is needed."""
    if not needs_twin(result.original_reward > CORRECT, placebo, search_config):
        return {}
    computed, start = len(evaluator.outcomes), time.perf_counter()
    search = search_function(search_config.name)
    twin = search(
        TargetEvaluator(evaluator, placebo), result.n_layers, search_config, sample_rng(run.seed, example_id)
    )
    return search_fields(twin, "placebo_") | {
        "placebo_n_evaluated": len(twin.rewards),
        "placebo_extra_chains": len(evaluator.outcomes) - computed,
        "placebo_seconds": round(time.perf_counter() - start, 3),
        "placebo_predictions": [evaluator.details[chain]["prediction"] for chain in twin.rewards],
    }


def searched_fields(
    evaluator: ChainEvaluator,
    search_config: SearchConfig,
    run: SearchRun,
    example_id: str,
    temperature: float,
) -> dict:
    """One sample's search (a chain search or the model's own tries), its twin and the full
    chain's ranking: every record field that depends on the search."""
    query, rng = evaluator.query, sample_rng(run.seed, example_id)
    full = evaluator.outcome(tuple(range(evaluator.chain_model.n_layers)))  # every search's first
    if search_config.reward == "faithful":  # its control (reach) aims at no wrong choice
        return ranking_fields(query, full, None) | faithful_fields(evaluator, search_config, run, example_id)
    placebo = sample_placebo(query, evaluator, run) if search_config.control is not None else None
    if search_config.guesses:
        twin = needs_twin(bool(full["correct"]), placebo, search_config)
        fields = guess_fields(evaluator, search_config, temperature, rng, placebo=placebo, twin=twin)
    else:
        result = search_function(search_config.name)(
            evaluator, evaluator.chain_model.n_layers, search_config, rng
        )
        fields = chain_search_fields(result, evaluator)
        if search_config.control is not None:
            fields |= placebo_twin(evaluator, result, placebo, run, search_config, example_id)
    if search_config.control is not None:  # how often the tries (chains or answers) picked each target
        picks = fields["predictions"][1:]
        fields |= {
            "placebo": placebo,
            "gold_picks": picks.count(query.gold),
            "placebo_picks": picks.count(placebo) if placebo is not None else None,
        }
    return ranking_fields(query, full, placebo) | fields


# Search settings added after records existed, with the value that reproduces those records: a
# run at that value records nothing for them, so its folder resumes the records made before.
SETTINGS_ADDED_LATER = {"reach_target": "least_likely"}


def recorded_search_settings(search_config: SearchConfig) -> dict:
    settings = asdict(search_config)
    for key, default in SETTINGS_ADDED_LATER.items():
        if settings[key] == default:
            del settings[key]
    return settings


def run_settings(task: TaskConfig, run: SearchRun, search_config: SearchConfig) -> dict:
    """What decides a search run's records: a run directory holds records of these settings only."""
    return {
        "model": run.model,
        "model_fingerprint": run.model_fingerprint,
        "task": asdict(task),
        "search": recorded_search_settings(search_config),
        # The prior file's content, not only its name: a file learned again changes the records.
        "prior_sha256": file_sha256(search_config.prior_file, "edit prior")
        if search_config.prior_file
        else None,
        "temperature_sha256": (
            file_sha256(search_config.temperature_file, "matched-temperature")
            if search_config.temperature_file
            else None
        ),
        "seed": run.seed,
        "shard": [run.shard_index, run.shard_count],
    }


def run_search(
    chain_model: ChainModel,
    tokenizer,
    task: TaskConfig,
    run: SearchRun,
    search_config: SearchConfig,
    engine_config: EngineConfig,
    output_dir: str | Path,
    *,
    progress: bool = False,
) -> dict:
    """Search every sample of this shard into ``output_dir``; resume whatever is already there."""
    samples = shard_of(load_examples(task, limit=run.limit), run)
    if benchmark_spec(task.benchmark).kind != "choice":
        # a wrong choice to aim at; the reach control has a generation form (another first token)
        if search_config.control not in (None, "reach"):
            raise ValueError(
                f"search.control={search_config.control} needs a multiple-choice benchmark, not {task.benchmark}"
            )
        if search_config.reward == "margin":
            raise ValueError(f"search.reward=margin needs a multiple-choice benchmark, not {task.benchmark}")
    temperature = search_config.temperature
    if search_config.temperature_file:
        temperature = load_matched_temperature(
            search_config.temperature_file, model=run.model, benchmark=task.benchmark
        )
    output_dir = Path(output_dir)
    check_prior_file(search_config, chain_model.n_layers)
    claim_run_dir(output_dir, run_settings(task, run, search_config))
    log = ResultsLog(output_dir / "results.jsonl")
    shots = load_benchmark(task.benchmark, split="train", limit=task.n_shots) if task.n_shots else []
    todo = [example for example in samples if example.id not in log]
    if len(todo) < len(samples):
        logger.info("resuming: %d of %d samples done", len(samples) - len(todo), len(samples))
    for example in tqdm(todo, disable=not progress, desc=f"{search_config.name} {task.benchmark}"):
        query = build_query(example, tokenizer, task, shots=shots)
        reward = "binary" if search_config.reward == "faithful" else search_config.reward  # the answer key's
        evaluator = ChainEvaluator(chain_model, tokenizer, query, engine_config, reward=reward)
        machine, start = machine_state(), time.perf_counter()
        fields = searched_fields(evaluator, search_config, run, example.id, temperature)
        seconds = time.perf_counter() - start
        log.append(search_record(query, evaluator, task, run, search_config.name, fields, seconds) | machine)
    wanted = {example.id for example in samples}
    records = [record for record in log.records if record["id"] in wanted]
    summarize = summarize_faithful if search_config.reward == "faithful" else summarize_search
    summary = summarize(records) | {
        "run": asdict(run),
        "task": asdict(task),
        "search_config": asdict(search_config),
        "engine": asdict(engine_config),
    }
    write_json(output_dir / "summary.json", summary)
    return summary
