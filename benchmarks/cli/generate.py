"""Generate text for a prompt under a chain, streamed to the terminal (Hydra entry point).

python scripts/generate.py model=smollm2 chain=0-9,9,10-29 prompt="What is the capital of Italy?"
python scripts/generate.py chain_file=chains.json chain_sample=static prompt="..."
python scripts/generate.py policy=<a cola policy file> prompt="..."   (the policy picks the chain)
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from benchmarks.cli import conf_dir
from benchmarks.runs.session import (
    chain_from_text,
    check_chain_argument,
    exit_on_user_error,
    open_model,
    quote_chain_arguments,
    set_threads,
)
from cola import format_chain
from cola.chainfile import load_chain_file, weights_fingerprint
from cola.choice_calibration import ChoiceCalibration
from cola.dola import DolaPolicy
from cola.inference import generate_text, prompt_ids
from cola.policy import load_policy


@hydra.main(config_path=conf_dir(), config_name="generate", version_base="1.3")
@exit_on_user_error
def main(cfg: DictConfig) -> None:
    set_threads(cfg.threads)
    check_chain_argument(cfg.chain)
    if sum(choice is not None for choice in (cfg.chain, cfg.chain_file, cfg.policy)) > 1:
        raise ValueError("give one of chain=, chain_file= and policy=")
    if cfg.policy is not None and not Path(cfg.policy).is_file():
        raise FileNotFoundError(f"policy file not found: {cfg.policy}")
    loaded, chain_model = open_model(**cfg.model)
    chain = chain_from_text(cfg.chain, loaded.n_layers)
    if cfg.chain_file:
        chains = load_chain_file(cfg.chain_file, model=loaded.model)
        chain = (
            chains.static_chain if cfg.chain_sample == "static" else chains.chain_for(str(cfg.chain_sample))
        )
        if chain is None:
            raise ValueError(f"{cfg.chain_file} has no static chain; pass chain_sample=<sample id>")
    policy = None
    if cfg.policy is not None:
        policy = load_policy(cfg.policy, chain_model, fingerprint=weights_fingerprint(loaded.model))
        if isinstance(policy, ChoiceCalibration):
            raise ValueError(
                f"{cfg.policy} is a {policy.kind} policy: it answers multiple choice, not free text"
            )
        chain = policy.choose(chain_model, prompt_ids(loaded.tokenizer, cfg.prompt, chat=cfg.chat))
    dola = policy if isinstance(policy, DolaPolicy) else None
    decoding = f", DoLa against layers {list(dola.layers)}" if dola else ""
    print(
        f"[{loaded.name}, chain {format_chain(chain)} ({len(chain)} of {loaded.n_layers} layers){decoding}]",
        file=sys.stderr,
    )
    generate_text(
        chain_model,
        loaded.tokenizer,
        cfg.prompt,
        chain,
        max_new_tokens=cfg.max_new_tokens,
        chat=cfg.chat,
        stream=sys.stdout,
        dola=dola,
    )
    print()


def run() -> None:
    """The console command (``cola-generate``) and the script's entry."""
    sys.argv = quote_chain_arguments(sys.argv)
    main()
