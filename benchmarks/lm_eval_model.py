"""The ``cola`` model for EleutherAI's lm-evaluation-harness: any lm-eval task under a chain.

``import benchmarks.lm_eval_model`` registers it; ``cola-lm-eval`` (``scripts/run_lm_eval.py``) is
lm-eval's own command line with it registered and the project's offline tasks included (lm-eval
has no plugin entry point for models). Model arguments: ``model`` (a ``cola.load_model`` spec,
default ``smollm2``), ``chain`` (``0-9;9;10-29``: lm-eval splits ``--model_args`` at commas, so
segments are separated by ``;`` there; a dict from Python may use either) or
``chain_file`` with ``chain_sample=static`` (the file's static chain) or ``policy`` (a
:mod:`cola.policy` file, e.g. the router study's ``router.safetensors``: each request context runs
the chain the policy picks for it; ``router`` is the older name of the same argument), ``dtype``; lm-eval's own
``batch_size`` and ``device``. Tokenization is lm-eval's (``TemplateLM``: context and
continuation encoded whole, then split), so the identity chain scores as its ``hf`` model does.
Requests that share a context run packed: the context once, every continuation after it, each
seeing only the context and itself (``PackedChoices``, the search engine's form): one row per
context, ``batch_size`` rows (of contexts that run the same chain) to a layer call, padded at the
end (``auto`` means 1). Generation runs one request at a time.
"""

from __future__ import annotations

import logging
import re
import sys
from collections import defaultdict
from pathlib import Path

import lm_eval.models  # noqa: F401 - lm-eval fills its registry lazily only while it is empty
import torch
from lm_eval import utils
from lm_eval.api.model import TemplateLM
from lm_eval.api.registry import register_model
from tqdm import tqdm

from benchmarks.packed import PackedChoices
from benchmarks.runner import stop_rule_for
from cola import Chain, ChainModel, load_model, parse_chain
from cola.chainfile import load_chain_file, weights_fingerprint
from cola.dola import DolaPolicy
from cola.policy import ChainEnsemble, ChoiceCalibration, load_policy

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
logger = logging.getLogger(__name__)
TASKS_DIR = Path(__file__).parent / "lm_eval_tasks"
CHAIN_SEGMENT = re.compile(r"^\d+(-\d+)?$")


def usable_device(device: str | None) -> str:
    """lm-eval's command line asks for cuda by default; like its ``hf`` model, fall back to the CPU."""
    if device and device.startswith("cuda") and not torch.cuda.is_available():
        logger.warning("device %s is not available; running on the CPU", device)
        return "cpu"
    return device or "cpu"


def refuse_split_chain(unused: dict) -> None:
    """lm-eval cuts ``chain=0-9,9,10-29`` at its commas into keys ``9`` and ``10-29``: say so."""
    stray = [key for key in unused if CHAIN_SEGMENT.match(str(key))]
    if stray:
        raise ValueError(
            f"model_args holds chain pieces {', '.join(stray)} as separate arguments: lm-eval splits "
            "--model_args at commas; separate chain segments with ';' (chain=0-9;9;10-29)"
        )


def resolve_chain(
    n_layers: int, model, *, chain: str | None, chain_file: str | None, chain_sample: str
) -> Chain:
    if chain_file is None:
        return (
            parse_chain(str(chain).replace(";", ","), n_layers)
            if chain is not None
            else tuple(range(n_layers))
        )
    if chain_sample != "static":
        raise ValueError(f"chain_sample={chain_sample!r}: lm-eval requests carry no sample id; use static")
    static = load_chain_file(chain_file, model=model).static_chain
    if static is None:
        raise ValueError(f"{chain_file} has no static chain; export one with the router script")
    return static


def padded_rows(packs: list[PackedChoices]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Packed rows stacked into one batch: ids, positions and visibility, padded at the end.

    A padding token sees only itself (no attention row is empty) and no real token sees it.
    """
    width = max(pack.input_ids.shape[1] for pack in packs)
    ids = torch.zeros(len(packs), width, dtype=torch.long)
    positions = torch.zeros(len(packs), width, dtype=torch.long)
    visible = torch.eye(width, dtype=torch.bool).repeat(len(packs), 1, 1)
    for row, pack in enumerate(packs):
        length = pack.input_ids.shape[1]
        ids[row, :length], positions[row, :length] = pack.input_ids[0], pack.position_ids[0]
        visible[row, :length, :length] = pack.visible[0]
    return ids, positions, visible


@register_model("cola")
class ColaLM(TemplateLM):
    def __init__(
        self,
        model: str = "smollm2",
        chain: str | None = None,
        chain_file: str | None = None,
        chain_sample: str = "static",
        policy: str | None = None,
        router: str | None = None,
        dtype: str = "float32",
        batch_size: int | str = 1,
        device: str = "cpu",
        max_gen_toks: int = 256,
        **unused,
    ):
        super().__init__()
        refuse_split_chain(unused)
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        loaded = load_model(model, dtype=DTYPES[dtype], device=usable_device(device))
        self.tokenizer = loaded.tokenizer
        self.chain_model = ChainModel(loaded.model)
        if sum(choice is not None for choice in (chain, chain_file, policy, router)) > 1:
            raise ValueError("give one of chain=, chain_file= and policy= (router=)")
        self.chain = resolve_chain(
            loaded.n_layers, loaded.model, chain=chain, chain_file=chain_file, chain_sample=chain_sample
        )
        policy = policy or router
        self.policy = None
        if policy is not None:
            fingerprint = weights_fingerprint(loaded.model)
            self.policy = load_policy(policy, self.chain_model, fingerprint=fingerprint)
            if isinstance(self.policy, ChoiceCalibration | ChainEnsemble):
                raise ValueError(
                    f"{policy} is a {self.policy.kind} policy, which scores a question's choices together; "
                    "lm-eval scores each choice alone, so it cannot apply one: use scripts/evaluate.py policy=..."
                )
            if isinstance(self.policy, DolaPolicy):
                raise ValueError(
                    f"{policy} is a DoLa policy, which changes how tokens are scored, not the chain; this "
                    "model runs chains under lm-eval's own scoring: use scripts/evaluate.py policy=... "
                    "(ARC loglikelihood, GSM8K) or scripts/generate.py policy=..."
                )
        self.routed: list[Chain] = []  # the chain each context ran, in order, under a policy
        self.batch_size = 1 if str(batch_size).startswith("auto") else int(batch_size)
        self.max_gen_toks = int(max_gen_toks)

    @property
    def eot_token_id(self) -> int:
        return self.tokenizer.eos_token_id

    @property
    def prefix_token_id(self) -> int:
        bos = self.tokenizer.bos_token_id
        return bos if bos is not None else self.eot_token_id

    def tok_encode(self, string: str, add_special_tokens: bool | None = None, **kwargs) -> list[int]:
        options = {} if add_special_tokens is None else {"add_special_tokens": add_special_tokens}
        return self.tokenizer.encode(string, **options)

    def _loglikelihood_tokens(
        self, requests, disable_tqdm: bool = False, **kwargs
    ) -> list[tuple[float, bool]]:
        groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for index, (_, context, _) in enumerate(requests):
            groups[tuple(context)].append(index)
        by_chain: dict[Chain, list[tuple[int, ...]]] = defaultdict(list)
        for context in groups:
            by_chain[self.chain_for(list(context))].append(context)
        results: list[tuple[float, bool] | None] = [None] * len(requests)
        progress = tqdm(total=len(groups), disable=disable_tqdm, desc="cola loglikelihood")
        for chain, contexts in by_chain.items():
            # Contexts that run one chain go ``batch_size`` packed rows to a layer call.
            for start in range(0, len(contexts), self.batch_size):
                batch = contexts[start : start + self.batch_size]
                rows = [
                    (list(context), [tuple(requests[i][2]) for i in groups[context]]) for context in batch
                ]
                for context, scored in zip(batch, self._score_packed(rows, chain), strict=True):
                    for index, result in zip(groups[context], scored, strict=True):
                        results[index] = result
                progress.update(len(batch))
        progress.close()
        return results

    def chain_for(self, context: list[int]) -> Chain:
        """The chain a request with these context tokens runs: the fixed one, or the policy's pick."""
        if self.policy is None:
            return self.chain
        chain = self.policy.choose(self.chain_model, torch.tensor([context], device=self.chain_model.device))
        self.routed.append(chain)
        return chain

    @torch.inference_mode()
    def _score_packed(
        self, rows: list[tuple[list[int], list[tuple[int, ...]]]], chain: Chain
    ) -> list[list[tuple[float, bool]]]:
        """(loglikelihood, greedy) of each continuation, for rows of (context, continuations)."""
        packs = [PackedChoices.build(context, tuple(continuations)) for context, continuations in rows]
        ids, positions, visible = padded_rows(packs)
        device = self.chain_model.device
        hidden = self.chain_model.embed(ids.to(device))
        inputs = self.chain_model.packed_inputs(hidden, positions.to(device), visible.to(device))
        final = self.chain_model.run_steps(hidden, chain, inputs)
        return [
            self._continuation_scores(final[row], pack, continuations)
            for row, (pack, (_, continuations)) in enumerate(zip(packs, rows, strict=True))
        ]

    def _continuation_scores(
        self, final: torch.Tensor, pack: PackedChoices, continuations: list[tuple[int, ...]]
    ) -> list[tuple[float, bool]]:
        device = final.device
        log_probs = torch.log_softmax(self.chain_model.head(final[pack.scored.to(device)]).float(), dim=-1)
        rows = log_probs[pack.scored_index.to(device)].cpu()
        results, offset = [], 0
        for continuation in continuations:
            part, targets = rows[offset : offset + len(continuation)], torch.tensor(continuation)
            offset += len(continuation)
            total = float(part.gather(-1, targets[:, None]).sum())
            results.append((total, bool((part.argmax(dim=-1) == targets).all())))
        return results

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False) -> list[float]:
        totals = []
        for request in tqdm(requests, disable=disable_tqdm, desc="cola rolling"):
            windows = utils.get_rolling_token_windows(
                token_list=self.tok_encode(request.args[0]),
                prefix_token=self.prefix_token_id,
                max_seq_len=self.max_length,
                context_len=1,
            )
            pieces = [(None, *utils.make_disjoint_window(window)) for window in windows]
            totals.append(sum(score for score, _ in self._loglikelihood_tokens(pieces, disable_tqdm=True)))
        return totals

    @property
    def max_length(self) -> int:
        return getattr(self.chain_model.model.config, "max_position_embeddings", 2048)

    @torch.inference_mode()
    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        outputs = []
        for request in tqdm(requests, disable=disable_tqdm, desc="cola generate"):
            context, options = request.args
            until = options.get("until") or []
            until = [until] if isinstance(until, str) else list(until)
            if options.get("do_sample"):
                raise ValueError("the cola model decodes greedily; do_sample=True is not supported")
            ids = torch.tensor([self.tok_encode(context)], device=self.chain_model.device)
            generated = self.chain_model.generate(
                ids,
                self.chain_for(ids[0].tolist()),
                max_new_tokens=int(options.get("max_gen_toks", self.max_gen_toks)),
                eos_token_id=self.eot_token_id,
                stop_rule=stop_rule_for(self.tokenizer, tuple(until)) if until else None,
            )
            text = self.tokenizer.decode(generated[0, ids.shape[1] :], skip_special_tokens=True)
            for stop in until:
                text = text.split(stop)[0]
            outputs.append(text)
        return outputs


def main() -> None:
    """``cola-lm-eval``: lm-eval's command line, with the ``cola`` model and the offline tasks."""
    from lm_eval.__main__ import cli_evaluate

    if "--include_path" not in sys.argv:
        sys.argv += ["--include_path", str(TASKS_DIR)]
    cli_evaluate()
