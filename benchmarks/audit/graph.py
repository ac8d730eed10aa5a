"""The audit's stages for a model and its settings: the full chain on each split, each search (and
the model's own tries) on test beside its placebo twin, and the calibration fit on train, its ridge
chosen on validation, read on test. Each stage writes through a resumable run of ``runs``."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

from benchmarks.analysis.policy_gains import sliced_rows, sliced_statistics
from benchmarks.audit.settings import SPLITS, AuditSettings
from benchmarks.audit.shards import merge_records
from benchmarks.audit.stages import SKIPPED_FILE, Stage
from benchmarks.learners.block_router_training import RouterTraining, train_block_router_policy
from benchmarks.learners.calibration import calibrated_record, choice_data, fit_on_validation, full_chain_run
from benchmarks.learners.exit_calibration import field_method_answers
from benchmarks.learners.matched_temperature import temperature_choice
from benchmarks.learners.static_chain import StaticChainStudy, learn_static_chain_policy
from benchmarks.reports.policy_table import recording_cost, rows_markdown
from benchmarks.results import load_records, recorded_path, write_derived_run, write_json
from benchmarks.runs.evaluate import RunInfo, evaluate
from benchmarks.runs.exit_run import ExitRun, run_exits
from benchmarks.runs.search_run import SearchRun, recorded_search_settings, run_search
from benchmarks.runs.session import open_model, set_threads
from benchmarks.tasks import TaskConfig, load_examples
from cola import ChainModel, LoadedModel, full_chain
from cola.chainfile import weights_fingerprint
from cola.policy import load_policy, policy_sha256, save_policy
from search.config import SearchConfig
from search.static_chain import RaceConfig


def full_stage_name(split: str) -> str:
    return f"full-{split}"


def question_count(task: TaskConfig, count: int | None) -> int:
    """The questions a stage reads (the split's file is read now: a missing file fails here)."""
    return len(load_examples(task, limit=count))


def full_chain_stage(
    settings: AuditSettings, split: str, loaded: LoadedModel, chain_model: ChainModel, fingerprint: str
) -> Stage:
    task, count = settings.split_task(split), settings.questions.get(split)
    info = RunInfo(
        model=loaded.name, chain=full_chain(chain_model.n_layers), model_fingerprint=fingerprint, packed=True
    )

    def run(folder: Path, limit: int | None) -> None:
        evaluate(chain_model, loaded.tokenizer, task, info, folder, limit=limit or count)

    return Stage(
        name=full_stage_name(split),
        settings={"kind": "full chain", "questions": count} | info.settings(task),
        run=run,
        questions=question_count(task, count),
    )


def unmatched_reason(temperature_file: Path) -> str | None:
    """Why no temperature was matched (the audit's temperature stage), or None."""
    return json.loads(temperature_file.read_text()).get("unmatched") if temperature_file.is_file() else None


def searching(
    settings: AuditSettings,
    task: TaskConfig,
    config: SearchConfig,
    loaded: LoadedModel,
    chain_model: ChainModel,
    fingerprint: str,
) -> Callable[..., None]:
    """``search(folder, limit, index=0, shards=1)``: the search run of a stage (or of one shard)."""

    def search(folder: Path, limit: int | None, index: int = 0, shards: int = 1) -> None:
        search_run = SearchRun(
            model=loaded.name,
            seed=settings.seed,
            limit=limit,
            shard_index=index,
            shard_count=shards,
            model_fingerprint=fingerprint,
        )
        run_search(chain_model, loaded.tokenizer, task, search_run, config, settings.engine, folder)

    return search


def search_stage(
    settings: AuditSettings,
    name: str,
    config: SearchConfig,
    loaded: LoadedModel,
    chain_model: ChainModel,
    fingerprint: str,
    split: str = "test",
    count: int | None = None,
) -> Stage:
    """A search on ``split`` (test: beside its twin), over the audit's questions of it or ``count``."""
    task = settings.split_task(split)
    count = settings.questions.get(split) if count is None else count
    search = searching(settings, task, config, loaded, chain_model, fingerprint)

    def run(folder: Path, limit: int | None) -> None:
        if config.temperature_file and (unmatched := unmatched_reason(Path(config.temperature_file))):
            write_json(folder / SKIPPED_FILE, {"reason": f"no matched temperature: {unmatched}"})
            return
        search(folder, limit or count)

    def run_shard(folder: Path, index: int, shards: int) -> None:
        search(folder, count, index, shards)

    questions = question_count(task, count)
    return Stage(
        run_shard=None if config.temperature_file else run_shard,  # sample_matched: seconds, not shards
        merge=lambda shards, folder: merge_records(shards, folder, questions),
        name=f"search-{name}",
        settings={
            "kind": "search",
            "questions": count,
            "model_fingerprint": fingerprint,
            "task": asdict(task),
            "search": recorded_search_settings(config),
            "engine": asdict(settings.engine),
            "seed": settings.seed,
        },
        run=run,
        questions=questions,
    )


def matching_stages(
    settings: AuditSettings, root: Path, loaded: LoadedModel, chain_model: ChainModel, fingerprint: str
) -> tuple[list[Stage], Path]:
    """Random chains on validation questions, then the temperature matched to them: the two stages
    search=sample_matched reads, and the temperature file they write."""
    task, count = settings.split_task("validation"), settings.matching_questions
    config = settings.matching

    search = searching(settings, task, config, loaded, chain_model, fingerprint)

    def run_random(folder: Path, limit: int | None) -> None:
        search(folder, limit or count)

    def run_random_shard(folder: Path, index: int, shards: int) -> None:
        search(folder, count, index, shards)

    def match(folder: Path, limit: int | None) -> None:
        try:
            chosen = temperature_choice(load_records(root / "match-random"), "match-random")
        except ValueError as error:  # no temperature matches: sample_matched is left out, saying why
            chosen = {"unmatched": str(error)}
        write_json(folder / "temperature.json", chosen)

    questions = question_count(task, count)
    random_stage = Stage(
        run_shard=run_random_shard,
        merge=lambda shards, folder: merge_records(shards, folder, questions),
        name="match-random",
        settings={
            "kind": "random chains to match the temperature to",
            "questions": count,
            "model_fingerprint": fingerprint,
            "task": asdict(task),
            "search": recorded_search_settings(config),
            "seed": settings.seed,
        },
        run=run_random,
        questions=questions,
    )
    temperature_stage = Stage(
        name="temperature", settings={"kind": "matched temperature"}, run=match, needs=("match-random",)
    )
    return [random_stage, temperature_stage], root / "temperature" / "temperature.json"


def static_race_stages(
    settings: AuditSettings, loaded: LoadedModel, chain_model: ChainModel, fingerprint: str
) -> list[Stage]:
    """The static chain raced on train (screened on up to 200 questions, finalists on up to 1,000
    of the audit's), its path stopped on the audit's validation questions, then read on test."""
    train = question_count(settings.split_task("train"), settings.questions.get("train"))
    race = RaceConfig(screen_questions=min(200, train), final_questions=min(1000, train))
    study = StaticChainStudy(
        race=race, validation_limit=settings.questions.get("validation"), seed=settings.seed
    )
    task = settings.split_task("train")

    def learn(folder: Path, limit: int | None) -> None:
        learn_static_chain_policy(
            chain_model, loaded.tokenizer, task, study, settings.engine, folder, model_fingerprint=fingerprint
        )

    learned = Stage(
        name="static-race",
        settings={"kind": "static race", "study": asdict(study), "model_fingerprint": fingerprint},
        run=learn,
        questions=train,
        timed=False,
    )
    return [learned, policy_test_stage(settings, loaded, chain_model, learned)]


def router_stages(
    settings: AuditSettings, loaded: LoadedModel, chain_model: ChainModel, fingerprint: str
) -> list[Stage]:
    """The block router: a search on train (early stop off) finds each question's chain, the router
    is trained toward those chains, then read on test with the router's own choice of blocks."""
    train = settings.questions.get("train")
    count = settings.router_questions if train is None else min(train, settings.router_questions or train)
    searched = replace(
        search_stage(settings, "router", settings.router, loaded, chain_model, fingerprint, "train", count),
        name="router-search",
    )
    training = RouterTraining(target="gold", seed=settings.seed)
    task = settings.split_task("train")

    def learn(folder: Path, limit: int | None) -> None:
        train_block_router_policy(
            chain_model,
            loaded.tokenizer,
            task,
            folder.parent / "router-search",
            training,
            folder,
            model_fingerprint=fingerprint,
        )

    learned = Stage(
        name="router-train",
        settings={"kind": "block router", "training": asdict(training), "model_fingerprint": fingerprint},
        run=learn,
        questions=searched.questions,
        needs=("router-search",),
        timed=False,
    )
    return [searched, learned, policy_test_stage(settings, loaded, chain_model, learned)]


POLICY_FILES = {  # the policy each learning stage writes
    "static-race": "static_chain.safetensors",
    "router-train": "block_router.safetensors",
}
READINGS = {
    "static-race": ("static-test", "static chain on test"),
    "router-train": ("router-test", "block router on test"),
}


def policy_test_stage(
    settings: AuditSettings, loaded: LoadedModel, chain_model: ChainModel, learned: Stage
) -> Stage:
    """The policy ``learned`` writes (the static race's chain or the router), read on the audit's test
    questions. The learning stage's settings are part of this one's, so a policy learned anew under
    other settings is not read as the old one's records."""
    name, kind = READINGS[learned.name]
    test, count = settings.split_task("test"), settings.questions.get("test")
    fingerprint = learned.settings["model_fingerprint"]

    def read(folder: Path, limit: int | None) -> None:
        path = folder.parent / learned.name / POLICY_FILES[learned.name]
        info = RunInfo(
            model=loaded.name,
            chain=None,
            model_fingerprint=fingerprint,
            policy=load_policy(path, chain_model, fingerprint=fingerprint),
            policy_sha256=policy_sha256(path),
            packed=True,
        )
        evaluate(chain_model, loaded.tokenizer, test, info, folder, limit=limit or count)

    return Stage(
        name=name,
        settings={"kind": kind, "questions": count, "task": asdict(test), "learned": learned.settings},
        run=read,
        questions=question_count(test, count),
        needs=(learned.name,),
    )


def calibration_stage(root: Path, fingerprint: str, n_layers: int) -> Stage:
    """No forward pass: the full chain's train and validation records fit it, its test records are
    answered by it (what ``scripts/evaluate.py policy=`` would write for them)."""

    def run(folder: Path, limit: int | None) -> None:
        train, _ = full_chain_run(root / full_stage_name("train"), "train")
        validation, _ = full_chain_run(root / full_stage_name("validation"), "validation")
        test, test_settings = full_chain_run(root / full_stage_name("test"), "test")
        calibration, ridge, by_ridge = fit_on_validation(choice_data(train), choice_data(validation))
        save_policy(
            calibration,
            folder / "calibration.safetensors",
            fingerprint=fingerprint,
            n_layers=n_layers,
            trained_toward="gold",
        )
        write_json(folder / "fit.json", {"ridge": ridge, "validation_accuracy_by_ridge": by_ridge})
        answered = [calibrated_record(calibration, record) for record in test]
        write_derived_run(
            folder / "test", {"derived_from": "full-test", "policy": "calibration"} | test_settings, answered
        )

    return Stage(
        name="calibration",
        settings={"kind": "calibration", "model_fingerprint": fingerprint},
        run=run,
        needs=tuple(full_stage_name(split) for split in SPLITS),
    )


def exit_stage(
    settings: AuditSettings, split: str, loaded: LoadedModel, chain_model: ChainModel, fingerprint: str
) -> Stage:
    task, count = settings.split_task(split), settings.questions.get(split)
    train = split == "train"  # what no reading takes from train: DoLa's and the neutral premise's scores
    run = ExitRun(
        model=loaded.name,
        exits=settings.exits,
        dola=not train,
        neutral=not train,
        model_fingerprint=fingerprint,
    )

    def record(folder: Path, limit: int | None) -> None:
        run_exits(chain_model, loaded.tokenizer, task, replace(run, limit=limit or count), folder)

    def record_shard(folder: Path, index: int, shards: int) -> None:
        sharded = replace(run, limit=count, shard_index=index, shard_count=shards)
        run_exits(chain_model, loaded.tokenizer, task, sharded, folder)

    questions = question_count(task, count)
    return Stage(
        run_shard=record_shard,
        merge=lambda shards, folder: merge_records(shards, folder, questions),
        name=f"exits-{split}",
        settings={"kind": "exits", "questions": count, "task": asdict(task), "run": asdict(run)},
        run=record,
        questions=questions,
    )


def field_methods_stage(root: Path) -> Stage:
    """No forward pass: each method's answers on test from the exit records, as a table."""

    def run(folder: Path, limit: int | None) -> None:
        train, validation, test = (load_records(root / f"exits-{split}") for split in SPLITS)
        answers = field_method_answers(train, validation, test)
        sliced = sliced_rows(answers, full="full chain", rival="calibration")
        (folder / "table.md").write_text(
            rows_markdown(sliced, full="full chain", rival="calibration") + recording_cost(test)
        )
        write_json(folder / "statistics.json", sliced_statistics(sliced))  # audit.md's headline reads it

    return Stage(
        name="field-methods",
        settings={"kind": "field methods"},
        run=run,
        needs=tuple(f"exits-{split}" for split in SPLITS),
    )


def audit_stages(
    settings: AuditSettings, root: Path, loaded: LoadedModel, chain_model: ChainModel
) -> list[Stage]:
    """The stages the settings ask for, in an order where every stage follows what it reads."""
    fingerprint = weights_fingerprint(loaded.model)
    stages = [
        full_chain_stage(settings, split, loaded, chain_model, fingerprint)
        for split in SPLITS
        if settings.questions.get(split) != 0
    ]
    searches = dict(settings.searches)
    if "sample_matched" in searches:
        matching, temperature_file = matching_stages(settings, root, loaded, chain_model, fingerprint)
        stages += matching
        # relative to the repository when the audit runs under it, as committed records hold paths
        searches["sample_matched"] = replace(
            searches["sample_matched"], temperature_file=str(recorded_path(temperature_file))
        )
    for name, config in searches.items():
        stage = search_stage(settings, name, config, loaded, chain_model, fingerprint)
        stages.append(replace(stage, needs=("temperature",)) if name == "sample_matched" else stage)
    if settings.faithful is not None:
        stages.append(search_stage(settings, "faithful", settings.faithful, loaded, chain_model, fingerprint))
    if settings.calibration:
        stages.append(calibration_stage(root, fingerprint, chain_model.n_layers))
    if settings.static_race:
        stages += static_race_stages(settings, loaded, chain_model, fingerprint)
    if settings.router is not None:
        stages += router_stages(settings, loaded, chain_model, fingerprint)
    if settings.field_methods:
        stages += [exit_stage(settings, split, loaded, chain_model, fingerprint) for split in SPLITS]
        stages.append(field_methods_stage(root))
    return stages


def shard_worker(
    name: str, index: int, count: int, *, model: dict, settings: AuditSettings, root: Path, threads: int
) -> None:
    """One shard of stage ``name`` in a worker process: the model loaded here, the stage rebuilt
    from the same settings (so it is the stage the main process planned)."""
    set_threads(threads)
    loaded, chain_model = open_model(**model)
    stages = {stage.name: stage for stage in audit_stages(settings, root, loaded, chain_model)}
    stages[name].run_shard(root / name / f"shard{index}", index, count)
