"""Search chains for every sample of a benchmark and write one record per sample (resumable).

Every requested sample is searched and reported: none is resampled or filtered out. Samples can
be split into shards (``shard_index`` of ``shard_count``) that run as separate processes; each
sample's random generator is seeded from (seed, sample id), so results do not depend on sharding
or on where an interrupted run resumed.
"""

from __future__ import annotations

import logging
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks.datasets import Example, benchmark_spec, load_benchmark
from benchmarks.evaluator import ChainEvaluator, TargetEvaluator, decisive_scores
from benchmarks.experiments.faithful_summary import summarize_faithful
from benchmarks.experiments.guess_run import guess_fields, load_matched_temperature
from benchmarks.experiments.machine import machine_state
from benchmarks.experiments.search_summary import summarize_search
from benchmarks.faithful import REACH_MIN_CHOICES, FaithfulEvaluator, FaithfulTokensEvaluator
from benchmarks.queries import GenerationQuery, LetterQuery, Query, query_fields
from benchmarks.results import ResultsLog, claim_run_dir, file_sha256, write_json
from benchmarks.tasks import TaskConfig, build_query, load_examples
from cola import ChainModel, format_chain
from cola.engine import EngineConfig
from search import CORRECT, SearchConfig, SearchResult, check_prior_file, search_function
from search.guesses import choice_ranks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchRun:
    model: str
    seed: int = 0
    limit: int | None = None
    shard_index: int = 0
    shard_count: int = 1
    model_fingerprint: str | None = None  # of the weights (cola.chainfile.weights_fingerprint)

    def __post_init__(self):
        if not 0 <= self.shard_index < self.shard_count:
            raise ValueError(
                f"shard_index {self.shard_index} out of range for shard_count {self.shard_count}"
            )


def sample_rng(seed: int, example_id: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(example_id.encode())])


def shard_of(examples: list[Example], run: SearchRun) -> list[Example]:
    return examples[run.shard_index :: run.shard_count]


def placebo_rng(seed: int, example_id: str) -> np.random.Generator:
    """The placebo draw's own stream, so that drawing it leaves the searches' streams untouched."""
    return np.random.default_rng([seed, zlib.crc32(example_id.encode()), 1])


def draw_placebo(gold: int, prediction: int, n_choices: int, rng: np.random.Generator) -> int | None:
    """A choice that is neither the gold answer nor the full chain's prediction; None if none is left."""
    options = [choice for choice in range(n_choices) if choice not in (gold, prediction)]
    return int(options[rng.integers(len(options))]) if options else None


def n_choices(query: Query) -> int:
    return len(query.candidate_ids) if isinstance(query, LetterQuery) else len(query.continuation_ids)


def search_fields(result: SearchResult, prefix: str = "") -> dict:
    """What a record keeps of one search: correct chains, the best, and how soon the first came."""
    best = result.best_chain
    return {
        f"{prefix}correct_chains": [format_chain(chain) for chain in result.correct_chains],
        f"{prefix}best_chain": format_chain(best) if best else None,
        f"{prefix}best_length": len(best) if best else None,
        f"{prefix}first_correct_evaluation": result.first_correct_evaluation,
    }


def chain_search_fields(result: SearchResult, evaluator: ChainEvaluator) -> dict:
    """A chain search's record fields: its chains, and the prediction of every chain it evaluated."""
    best = result.best_chain
    return {
        **search_fields(result),
        "best_distinct_layers": len(set(best)) if best else None,
        "n_evaluated": len(result.rewards),
        "iterations": result.iterations,
        "stopped_early": result.stopped_early,
        "predictions": [evaluator.details[chain]["prediction"] for chain in result.rewards],
    }


def ranking_fields(query: Query, full_outcome: dict, placebo: int | None) -> dict:
    """The full chain's ranking of the choices: its scores in the task's metric (the ones that
    decide its answer), gold's rank and the placebo's (0 = its answer, 1 = the runner-up)."""
    if isinstance(query, GenerationQuery):
        return {}
    scores = decisive_scores(full_outcome)
    ranks = choice_ranks(scores)
    return {
        "full_scores": [round(float(score), 5) for score in scores],
        "gold_rank": ranks[query.gold],
        "placebo_rank": ranks[placebo] if placebo is not None else None,
    }


def search_record(
    query: Query,
    evaluator: ChainEvaluator,
    task: TaskConfig,
    run: SearchRun,
    search_name: str,
    fields: dict,
    seconds: float,
) -> dict:
    full = evaluator.details[tuple(range(evaluator.chain_model.n_layers))]
    return {
        "id": query.example_id,
        "model": run.model,
        "benchmark": task.benchmark,
        "split": task.split,
        "mode": task.mode,
        "search": search_name,
        "seed": run.seed,
        "prompt": query.prompt,
        **query_fields(query),
        "n_layers": evaluator.chain_model.n_layers,
        "original_correct": bool(full["correct"]),
        "original_prediction": full["prediction"],
        **fields,
        **evaluator.stats.as_dict(),
        "seconds": round(seconds, 3),
    }


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


def generation_reach_fields(
    evaluator: ChainEvaluator, search_config: SearchConfig, run: SearchRun, example_id: str
) -> dict:
    """The same search aimed at the full chain's runner-up first token and its continuation. It
    needs its own evaluator: decoding stops where a chain leaves the reference it follows."""
    own = ChainEvaluator(evaluator.chain_model, evaluator.tokenizer, evaluator.query, evaluator.config)
    reach = FaithfulTokensEvaluator(own, search_config.faithful_tokens, reach_control=True)
    twin = search_function(search_config.name)(
        reach, evaluator.chain_model.n_layers, search_config, sample_rng(run.seed, example_id)
    )
    return search_fields(twin, "reach_") | {
        "reach_n_evaluated": len(twin.rewards),
        "reach_needed": reach.needed,
        "reach_agreements": [reach.agreement(chain) for chain in twin.rewards],
        "reach_lengths": [len(chain) for chain in twin.rewards],
    }


def deciding_scores(evaluator: ChainEvaluator, chain) -> list[float]:
    """The scores that decide ``chain``'s answer (per character for acc_norm), as recorded."""
    return [round(float(score), 5) for score in decisive_scores(evaluator.outcome(chain))]


def faithful_fields(
    evaluator: ChainEvaluator, search_config: SearchConfig, run: SearchRun, example_id: str
) -> dict:
    """A search rewarded for reproducing the full chain (no answer key read): its chains and, per
    evaluated chain, KL(full || chain) (``kls``, multiple choice) or the first tokens agreeing with
    the full chain's (``agreements``, generation). With ``control="reach"`` the same search (same
    seed stream) aimed at the reach control's distribution, its fields prefixed ``reach_``
    (``search.reach_target``: the two least likely choices swapped, on questions with three or
    more; or the two most likely; on generation, the full chain's runner-up first token and its
    continuation)."""
    search, n_layers = search_function(search_config.name), evaluator.chain_model.n_layers
    if evaluator.generation:
        faithful = FaithfulTokensEvaluator(evaluator, search_config.faithful_tokens)
        result = search(faithful, n_layers, search_config, sample_rng(run.seed, example_id))
        fields = chain_search_fields(result, evaluator) | {
            "faithful_needed": faithful.needed,
            "agreements": [faithful.agreement(chain) for chain in result.rewards],
            "lengths": [len(chain) for chain in result.rewards],
        }
        if search_config.control == "reach":
            fields |= generation_reach_fields(evaluator, search_config, run, example_id)
        return fields
    faithful = FaithfulEvaluator(evaluator, search_config.faithful_kl)
    result = search(faithful, n_layers, search_config, sample_rng(run.seed, example_id))
    fields = chain_search_fields(result, evaluator) | {
        "faithful_kl": search_config.faithful_kl,
        "kls": [round(faithful.kl(c), 6) for c in result.rewards],
        "lengths": [len(c) for c in result.rewards],
        "scores": [deciding_scores(evaluator, c) for c in result.rewards],  # any target re-reads them
    }
    target = search_config.reach_target
    if search_config.control == "reach" and n_choices(evaluator.query) >= REACH_MIN_CHOICES[target]:
        reach = FaithfulEvaluator(evaluator, search_config.faithful_kl, reach_target=target)
        twin = search(reach, n_layers, search_config, sample_rng(run.seed, example_id))
        fields |= search_fields(twin, "reach_") | {
            "reach_target": target,
            "reach_answer": reach.answer,
            "reach_n_evaluated": len(twin.rewards),
            "reach_kls": [round(reach.kl(chain), 6) for chain in twin.rewards],
            "reach_lengths": [len(chain) for chain in twin.rewards],
            "reach_predictions": [evaluator.details[chain]["prediction"] for chain in twin.rewards],
            "reach_scores": [deciding_scores(evaluator, chain) for chain in twin.rewards],
        }
    return fields


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
