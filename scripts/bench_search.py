"""Measure the search engine against the naive evaluator on identical searches; print a table.

python scripts/bench_search.py benchmark=arc_easy limit=10 search.stop.enabled=false
python scripts/bench_search.py benchmark=gsm8k limit=5 search.simulations=50
"""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from benchmarks.benches.bench import bench_markdown, run_bench
from benchmarks.results import write_json
from benchmarks.runs.session import exit_on_user_error


@hydra.main(config_path="../conf", config_name="bench_search", version_base="1.3")
@exit_on_user_error
def main(cfg: DictConfig) -> None:
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    result = run_bench(
        OmegaConf.to_container(cfg.model),
        instantiate(cfg.benchmark),
        instantiate(cfg.search),
        instantiate(cfg.engine),
        limit=cfg.limit,
        seed=cfg.seed,
        threads=cfg.threads,
    )
    write_json(output_dir / "bench.json", result)
    table = bench_markdown(result)
    (output_dir / "bench.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
