"""Record one unsteered chain set per question and print the depth each target needs on it.

python scripts/studies/unsteered_depth.py model=smollm2 benchmark=arc_easy limit=200 threads=1
python scripts/studies/unsteered_depth.py model=gemma3_270m prior_file=conf/priors/arc_easy-gemma3_270m-val100-ranked.json

The report (depth curves of the full chain's own output and the reach target, on the removal path,
the random removals and both) is written by scripts/studies/report_unsteered.py from the records.
"""

from __future__ import annotations

import json
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig

from benchmarks.reports.unsteered_report import depth_table
from benchmarks.runs.chain_sets import UnsteeredRun, run_unsteered
from benchmarks.runs.session import exit_on_user_error, open_model, set_threads
from cola.chainfile import weights_fingerprint


@hydra.main(config_path="../../conf", config_name="unsteered", version_base="1.3")
@exit_on_user_error
def main(cfg: DictConfig) -> None:
    set_threads(cfg.threads)
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    task, engine = instantiate(cfg.benchmark), instantiate(cfg.engine)
    if not Path(cfg.prior_file).is_file():  # before the model loads
        raise FileNotFoundError(f"edit prior file not found: {cfg.prior_file}")
    loaded, chain_model = open_model(**cfg.model)
    run = UnsteeredRun(
        model=loaded.name,
        prior_file=cfg.prior_file,
        seed=cfg.seed,
        limit=cfg.limit,
        random_per_size=cfg.random_per_size,
        model_fingerprint=weights_fingerprint(loaded.model),
    )
    records = run_unsteered(
        chain_model, loaded.tokenizer, task, run, engine, output_dir, progress=cfg.progress
    )
    print(depth_table({loaded.name: records}))
    print(json.dumps({"n": len(records), "records": str(output_dir / "results.jsonl")}))


if __name__ == "__main__":
    main()
