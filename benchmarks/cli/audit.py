"""The audit (``cola-audit``; ``scripts/audit.py``): the plan, then every stage not yet done, then
``audit.md``, in one run folder (Hydra entry point; presets in ``conf/audit/``).

python scripts/audit.py audit=quick [audit.plan_only=true] [model.spec=...]
"""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from benchmarks.audit.document import write_audit
from benchmarks.audit.graph import audit_stages, shard_worker
from benchmarks.audit.plan import plan_markdown, plan_stages
from benchmarks.audit.settings import AuditSettings
from benchmarks.audit.stages import run_stages
from benchmarks.cli import conf_dir, resolve_search_files
from benchmarks.machine import machine_state
from benchmarks.runs.session import exit_on_user_error, open_model, set_threads
from search import check_prior_file


def configured_search(known, key: str, name: str):
    """The search ``audit.<key>=<name>`` names, built from the configured searches."""
    if name not in known:
        raise ValueError(f"audit.{key}={name} is not among the searches configured")
    return instantiate(known[name])


def audit_settings(cfg: DictConfig) -> AuditSettings:
    """The run's settings from the composed config: each search named by the preset, at the
    preset's budget, beside its placebo twin."""
    known = cfg.get("searches", {})
    if missing := [name for name in cfg.audit.searches if name not in known]:
        raise ValueError(f"audit.searches names {missing}; the searches configured are {sorted(known)}")
    for name in known:
        resolve_search_files(known[name])
    searches = {}
    for name in cfg.audit.searches:
        config = instantiate(known[name])
        searches[name] = dataclasses.replace(config, simulations=cfg.audit.simulations, control="placebo")
    random = instantiate(known["random"])  # sample_matched's temperature is matched to random chains
    matching = dataclasses.replace(
        random,
        simulations=cfg.audit.simulations,
        control=None,
        stop=dataclasses.replace(random.stop, enabled=False),
    )
    faithful = None
    if cfg.audit.faithful:  # a search toward the full chain's own distribution, skips only, no early stop
        base = configured_search(known, "faithful_search", cfg.audit.faithful_search)
        faithful = dataclasses.replace(
            base,
            simulations=cfg.audit.simulations,
            reward="faithful",
            faithful_kl=cfg.audit.faithful_kl,
            control="reach",
            stop=dataclasses.replace(base.stop, enabled=False),
            edits=dataclasses.replace(base.edits, repeat=False),
        )
    router = None
    if cfg.audit.router:  # the router's supervision: a search on train toward gold, no twin, no early stop
        base = configured_search(known, "router_search", cfg.audit.router_search)
        router = dataclasses.replace(
            base,
            simulations=cfg.audit.router_simulations,
            control=None,
            stop=dataclasses.replace(base.stop, enabled=False),
        )
    return AuditSettings(
        router=router,
        router_questions=cfg.audit.router_questions,
        faithful=faithful,
        preset=cfg.audit.preset,
        matching=matching,
        matching_questions=cfg.audit.matching_questions,
        task=instantiate(cfg.benchmark),
        questions=OmegaConf.to_container(cfg.audit.questions),
        searches=searches,
        engine=instantiate(cfg.engine),
        seed=cfg.seed,
        calibration=cfg.audit.calibration,
        field_methods=cfg.audit.field_methods,
        static_race=cfg.audit.static_race,
        exits=None if cfg.audit.exits is None else tuple(cfg.audit.exits),
    )


@hydra.main(config_path=conf_dir(), config_name="audit", version_base="1.3")
@exit_on_user_error
def main(cfg: DictConfig) -> None:
    settings = audit_settings(cfg)  # a bad setting fails here, before the model loads
    set_threads(cfg.threads)
    root = Path(HydraConfig.get().runtime.output_dir)
    loaded, chain_model = open_model(**cfg.model)
    for config in [*settings.searches.values(), *filter(None, [settings.faithful, settings.router])]:
        check_prior_file(config, chain_model.n_layers)
    stages = audit_stages(settings, root, loaded, chain_model)
    machine = machine_state()
    workers = cfg.audit.workers
    shard_threads = cfg.threads or max(1, (os.cpu_count() or 1) // workers)
    planned = plan_stages(stages, root, probe=cfg.audit.probe, workers=workers, shard_threads=shard_threads)
    plan = plan_markdown(planned, machine=f"{machine['cpus']} CPUs, load {machine['load_1m']}")
    (root / "plan.md").write_text(plan)
    print(plan)
    if cfg.audit.plan_only:
        return
    worker = functools.partial(
        shard_worker,
        model=OmegaConf.to_container(cfg.model),
        settings=settings,
        root=root,
        threads=shard_threads,
    )
    run_stages(stages, root, workers=workers, worker=worker, launcher=cfg.audit.launcher, report=print)
    print(f"audit: {write_audit(settings, stages, root, model=loaded.name)}")


def run() -> None:
    """The console command (``cola-audit``) and the script's entry."""
    main()
