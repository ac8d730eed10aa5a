"""Search layer chains per sample and write results, summary and report (Hydra entry point).

python scripts/run_search.py model=smollm2 benchmark=arc_easy search=mcts limit=20 seed=0
"""

from __future__ import annotations

import json
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig

from benchmarks.analysis.search_summary import headline
from benchmarks.cli import conf_dir, resolve_search_files
from benchmarks.reports.search_report import write_report
from benchmarks.runs.search_run import SearchRun, run_search
from benchmarks.runs.session import exit_on_user_error, open_model, set_threads
from cola.chainfile import weights_fingerprint


@hydra.main(config_path=conf_dir(), config_name="search", version_base="1.3")
@exit_on_user_error
def main(cfg: DictConfig) -> None:
    set_threads(cfg.threads, workers=cfg.shard.count)
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    resolve_search_files(cfg.search)  # conf/ files, from the installed copy outside a checkout
    search_config, task, engine = instantiate(cfg.search), instantiate(cfg.benchmark), instantiate(cfg.engine)
    loaded, chain_model = open_model(**cfg.model)
    run = SearchRun(
        model=loaded.name,
        model_fingerprint=weights_fingerprint(loaded.model),
        seed=cfg.seed,
        limit=cfg.limit,
        shard_index=cfg.shard.index,
        shard_count=cfg.shard.count,
    )
    summary = run_search(
        chain_model,
        loaded.tokenizer,
        task,
        run,
        search_config,
        engine,
        output_dir,
        progress=cfg.progress,
    )
    report = write_report({cfg.search.name: output_dir}, output_dir)
    print(json.dumps(headline(summary), indent=2))
    print(f"report: {report}")


def run() -> None:
    """The console command (``cola-search``) and the script's entry."""
    main()
