"""Learn one chain for every input of a task on labelled splits (Hydra entry point).

python scripts/learn_static_chain.py model=smollm2 benchmark=arc_easy [study.objective=faithful]
"""

from __future__ import annotations

import json
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig

from benchmarks.learners.static_chain import learn_static_chain_policy
from benchmarks.runs.session import exit_on_user_error, open_model, set_threads
from cola.chainfile import weights_fingerprint


@hydra.main(config_path="../conf", config_name="learn_static_chain", version_base="1.3")
@exit_on_user_error
def main(cfg: DictConfig) -> None:
    set_threads(cfg.threads)
    task = instantiate(cfg.benchmark)
    study = instantiate(cfg.study)  # refuses a test split or an unknown objective before loading
    engine = instantiate(cfg.engine)
    loaded, chain_model = open_model(**cfg.model)
    output_dir = HydraConfig.get().runtime.output_dir
    result = learn_static_chain_policy(
        chain_model,
        loaded.tokenizer,
        task,
        study,
        engine,
        output_dir,
        model_fingerprint=weights_fingerprint(loaded.model),
        progress=cfg.progress,
    )
    print(Path(output_dir, "path.md").read_text())
    print(json.dumps({"picked": result["picked"], "policy": result["policy"]}, indent=2))


if __name__ == "__main__":
    main()
