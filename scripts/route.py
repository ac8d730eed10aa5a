"""Router vs full vs static chain vs oracle on held-out data (Hydra entry point).

python scripts/route.py train_run=<scripts/run_search.py run on benchmark.split=train> n_test=200
"""

from __future__ import annotations

import json

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from benchmarks.experiments.router import table_markdown
from benchmarks.experiments.router_study import RouterStudy, run_router_study
from benchmarks.experiments.session import open_model, set_threads, task_from_config
from cola.engine import EngineConfig

STUDY_KEYS = RouterStudy.__dataclass_fields__


@hydra.main(config_path="../conf", config_name="route", version_base="1.3")
def main(cfg: DictConfig) -> None:
    set_threads(cfg.threads)
    loaded, chain_model = open_model(OmegaConf.to_container(cfg.model))
    study = RouterStudy(**{key: cfg[key] for key in STUDY_KEYS})
    result = run_router_study(
        chain_model,
        loaded.tokenizer,
        task_from_config(OmegaConf.to_container(cfg.benchmark)),
        study,
        EngineConfig(**OmegaConf.to_container(cfg.engine)),
        HydraConfig.get().runtime.output_dir,
        progress=cfg.progress,
    )
    print(table_markdown(result["table"]))
    print(json.dumps({"static_chain": result["static_chain"], "routed": result["routed_counts"]}, indent=2))


if __name__ == "__main__":
    main()
