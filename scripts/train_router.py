"""Train a block router (Dr.LLM's form) on a training-split search run (Hydra entry point).

python scripts/train_router.py model=smollm2 train_run=outputs/search/arc_easy-train-descent50
"""

from __future__ import annotations

import json
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig

from benchmarks.learners.block_router_training import train_block_router_policy
from benchmarks.runs.session import exit_on_user_error, open_model, set_threads
from cola.chainfile import weights_fingerprint


@hydra.main(config_path="../conf", config_name="train_router", version_base="1.3")
@exit_on_user_error
def main(cfg: DictConfig) -> None:
    set_threads(cfg.threads)
    task = instantiate(cfg.benchmark)
    training = instantiate(cfg.training)
    if not Path(cfg.train_run).exists():
        raise FileNotFoundError(f"no search run at train_run={cfg.train_run}")
    loaded, chain_model = open_model(**cfg.model)
    summary = train_block_router_policy(
        chain_model,
        loaded.tokenizer,
        task,
        cfg.train_run,
        training,
        HydraConfig.get().runtime.output_dir,
        model_fingerprint=weights_fingerprint(loaded.model),
    )
    print(json.dumps({key: value for key, value in summary.items() if key != "dropped"}, indent=2))


if __name__ == "__main__":
    main()
