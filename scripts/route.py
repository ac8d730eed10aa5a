"""Router vs full vs static chain vs oracle on held-out data (Hydra entry point).

python scripts/route.py train_run=<scripts/run_search.py run on benchmark.split=train> study.n_test=200
"""

from __future__ import annotations

import json

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig

from benchmarks.experiments.router import table_markdown
from benchmarks.experiments.router_study import run_router_study
from benchmarks.experiments.session import exit_on_user_error, open_model, set_threads
from cola.chainfile import weights_fingerprint


@hydra.main(config_path="../conf", config_name="route", version_base="1.3")
@exit_on_user_error
def main(cfg: DictConfig) -> None:
    set_threads(cfg.threads)
    loaded, chain_model = open_model(**cfg.model)
    result = run_router_study(
        chain_model,
        loaded.tokenizer,
        instantiate(cfg.benchmark),
        instantiate(cfg.study),
        instantiate(cfg.engine),
        HydraConfig.get().runtime.output_dir,
        model_fingerprint=weights_fingerprint(loaded.model),
        progress=cfg.progress,
    )
    print(table_markdown(result["table"]))
    print(json.dumps({"static_chain": result["static_chain"], "routed": result["routed_counts"]}, indent=2))


if __name__ == "__main__":
    main()
