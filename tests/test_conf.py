"""Every combination of the `conf/` groups composes, and turns into valid library objects."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from benchmarks.tasks import TaskConfig
from cola.engine import EngineConfig
from search import EditConfig, SearchConfig, search_function
from search.static_chain import RaceConfig

CONF = Path(__file__).resolve().parents[1] / "conf"
TOP_LEVEL = sorted(path.stem for path in CONF.glob("*.yaml"))
GROUPS = sorted(path.name for path in CONF.iterdir() if path.is_dir() and not path.name.startswith("hydra"))


def options(group: str) -> list[str]:
    return sorted(path.stem for path in (CONF / group).glob("*.yaml"))


def groups_of(config_name: str) -> list[str]:
    defaults = OmegaConf.to_container(OmegaConf.load(CONF / f"{config_name}.yaml")).get("defaults", [])
    return [
        next(iter(entry)) for entry in defaults if isinstance(entry, dict) and next(iter(entry)) in GROUPS
    ]


COMBINATIONS = [
    (name, tuple(zip(groups, choice, strict=True)))
    for name in TOP_LEVEL
    for groups in [groups_of(name)]
    for choice in itertools.product(*(options(group) for group in groups))
]


def test_there_is_something_to_compose():
    assert "evaluate" in TOP_LEVEL
    assert {"model", "benchmark"} <= set(GROUPS)
    assert len(COMBINATIONS) >= 4


@pytest.mark.parametrize(("config_name", "choices"), COMBINATIONS, ids=lambda v: str(v))
def test_config_composes(config_name, choices):
    overrides = [f"{group}={option}" for group, option in choices]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=overrides)
    if "benchmark" in cfg:
        task = instantiate(cfg.benchmark)
        assert isinstance(task, TaskConfig) and task.benchmark == cfg.benchmark.benchmark
    if "search" in cfg:
        search = instantiate(cfg.search)
        assert isinstance(search, SearchConfig) and search.name == dict(choices)["search"]
        if search.guesses:  # the model's own tries evaluate no chain: no search function
            with pytest.raises(ValueError, match="runs through scripts/run_search.py"):
                search_function(search.name)
        else:
            search_function(search.name)
        hash(search)  # frozen and hashable all the way down: lists became tuples
    if "engine" in cfg:
        assert isinstance(instantiate(cfg.engine), EngineConfig)
    if "study" in cfg and "train_run" in cfg.study:
        assert instantiate(cfg.study, train_run="some/run").train_run == "some/run"
    elif "study" in cfg:  # the static-chain learner: its race settings become the race's objects
        study = instantiate(cfg.study)
        assert isinstance(study.race, RaceConfig) and isinstance(study.race.edits, EditConfig)
        hash(study)
    if "training" in cfg:
        assert instantiate(cfg.training).target == "gold"
    if "model" in cfg:
        assert cfg.model.spec
    if "audit" in cfg:  # the audit's settings: each named search at the preset's budget, with its twin
        from benchmarks.cli.audit import audit_settings

        if instantiate(cfg.benchmark).mode == "loglikelihood":
            settings = audit_settings(cfg)
            assert list(settings.searches) == list(cfg.audit.searches)
            assert {(c.simulations, c.control) for c in settings.searches.values()} == {
                (cfg.audit.simulations, "placebo")
            }
        else:
            with pytest.raises(ValueError, match="loglikelihood"):
                audit_settings(cfg)


def test_search_presets_differ_from_the_base_only_where_their_file_says():
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        configs = {
            name: instantiate(compose("search", overrides=[f"search={name}"]).search)
            for name in options("search")
            if name != "base"
        }
    assert {config.name for config in configs.values()} == set(configs)
    base = configs["mcts"]
    for name, config in configs.items():
        if name == "mcts":
            continue
        written = set(OmegaConf.load(CONF / "search" / f"{name}.yaml")) - {"defaults"}
        assert "name" in written
        assert replace(config, **{key: getattr(base, key) for key in written}) == base, name


def test_chain_overrides_with_commas_are_quoted_for_hydra():
    from benchmarks.runs.session import quote_chain_arguments

    assert quote_chain_arguments(["x.py", "chain=0-9,9,10-29", "limit=3"]) == [
        "x.py",
        "chain='0-9,9,10-29'",
        "limit=3",
    ]
    assert quote_chain_arguments(["x.py", "chain=0-29"]) == ["x.py", "chain=0-29"]
    assert quote_chain_arguments(["x.py", "chain='0,1'"]) == ["x.py", "chain='0,1'"]
    assert quote_chain_arguments(["x.py", "-m", "chain=0-3,0-5"]) == ["x.py", "-m", "chain=0-3,0-5"]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="evaluate", overrides=quote_chain_arguments(["chain=0-9,9,10-29"]))
    assert cfg.chain == "0-9,9,10-29"
