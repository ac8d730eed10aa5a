"""Evaluate a model under one chain on a benchmark (Hydra entry point).

python scripts/evaluate.py model=smollm2 benchmark=arc_easy limit=100 chain=0-9,9,10-29
python scripts/evaluate.py model=smollm2 benchmark=arc_easy policy=<a cola policy file>
"""

from __future__ import annotations

import json
import logging
import sys

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig

from benchmarks.cli import conf_dir
from benchmarks.runs.evaluate import RunInfo, evaluate
from benchmarks.runs.session import (
    chain_from_text,
    check_chain_argument,
    exit_on_user_error,
    open_model,
    quote_chain_arguments,
    set_threads,
)
from cola.chainfile import weights_fingerprint
from cola.policy import load_policy, policy_sha256


@hydra.main(config_path=conf_dir(), config_name="evaluate", version_base="1.3")
@exit_on_user_error
def main(cfg: DictConfig) -> None:
    set_threads(cfg.threads)
    output_dir = hydra.core.hydra_config.HydraConfig.get().runtime.output_dir
    check_chain_argument(cfg.chain)
    if cfg.policy is not None and cfg.chain is not None:
        raise ValueError("give chain= or policy=, not both")
    digest = policy_sha256(cfg.policy) if cfg.policy is not None else None
    task = instantiate(cfg.benchmark)
    loaded, chain_model = open_model(**cfg.model)
    fingerprint = weights_fingerprint(loaded.model)
    policy = load_policy(cfg.policy, chain_model, fingerprint=fingerprint) if cfg.policy is not None else None
    info = RunInfo(
        model=loaded.name,
        chain=None if policy is not None else chain_from_text(cfg.chain, loaded.n_layers),
        seed=cfg.seed,
        model_fingerprint=fingerprint,
        policy=policy,
        policy_sha256=digest,
        packed=cfg.packed,
    )
    summary = evaluate(
        chain_model,
        loaded.tokenizer,
        task,
        info,
        output_dir,
        limit=cfg.limit,
        batch_size=cfg.batch_size,
        progress=cfg.progress,
    )
    logging.getLogger(__name__).info("results in %s", output_dir)
    print(json.dumps({k: v for k, v in summary.items() if k != "task"}, indent=2))


def run() -> None:
    """The console command (``cola-evaluate``) and the script's entry."""
    sys.argv = quote_chain_arguments(sys.argv)
    main()
