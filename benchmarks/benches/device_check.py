"""The device check: cola's correctness contract and its engine's speed on one device and dtype,
on models built from configs (no weights needed). Each check compares cola with an independent
path: transformers' forward (identity chain), greedy decoding by full recompute without a cache
(skip, repeat and reorder chains), each chain decoded alone (the engine's lanes), the full chain's
greedy output (speculative decoding). In float32 a check passes only on equality (logits within
1e-4); in bfloat16, where rounding may move an argmax, it records where outputs first diverge and
passes on the identity chain's top-token agreement."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch

from cola import ChainModel
from cola.engine import ChainEngine, EngineConfig, plain_prompt
from cola.speculative import speculative_generate
from cola.tiny_models import FAMILY_NAMES, build_large_shape, build_tiny_model

CHAINS = {"skip": (0, 2, 3), "repeat": (0, 1, 1, 2, 3), "reorder": (3, 1, 0, 2)}
NEW_TOKENS = 8
FP32_LOGIT_TOLERANCE = 1e-4
BF16_TOP_AGREEMENT = 0.95


@dataclass(frozen=True)
class CheckRow:
    check: str
    model: str
    device: str
    dtype: str
    value: str
    passed: bool | None  # None: recorded, not judged (bf16 divergence), or skipped
    note: str = ""


def first_divergence(first: list[int], second: list[int]) -> int | None:
    """The first position where two token lists differ (None: equal)."""
    for position, (a, b) in enumerate(zip(first, second, strict=False)):
        if a != b:
            return position
    return None if len(first) == len(second) else min(len(first), len(second))


def uncached_greedy(chain_model: ChainModel, chain, ids: torch.Tensor, steps: int) -> list[int]:
    tokens: list[int] = []
    for _ in range(steps):
        extra = torch.tensor([tokens], dtype=torch.long, device=ids.device)
        tokens.append(int(chain_model.forward(torch.cat([ids, extra], dim=1), chain)[0, -1].argmax()))
    return tokens


def judged(name, model, device, dtype, first, second, what) -> CheckRow:
    """Token outputs compared: equality required in float32, the divergence recorded in bf16."""
    where = first_divergence(first, second)
    value = "equal" if where is None else f"first differ at token {where}"
    passed = (where is None) if dtype == "float32" else None
    return CheckRow(name, model, device, dtype, value, passed, what)


def identity_row(model, chain_model: ChainModel, ids: torch.Tensor, where: tuple[str, str, str]) -> CheckRow:
    family, device, dtype = where
    ours, theirs = chain_model.forward(ids, range(chain_model.n_layers)).float(), model(ids).logits.float()
    gap = float((ours - theirs).abs().max())
    agreement = float((ours.argmax(-1) == theirs.argmax(-1)).float().mean())
    passed = gap <= FP32_LOGIT_TOLERANCE if dtype == "float32" else agreement >= BF16_TOP_AGREEMENT
    value = f"max |Δlogit| {gap:.2e}, top-token agreement {agreement:.3f}"
    return CheckRow("identity chain vs transformers", family, device, dtype, value, passed)


def decoding_rows(chain_model: ChainModel, ids: torch.Tensor, where: tuple[str, str, str]) -> list[CheckRow]:
    prompt_length = ids.shape[1]
    rows = []
    for name, chain in CHAINS.items():
        cached = chain_model.generate(ids, chain, max_new_tokens=NEW_TOKENS, eos_token_id=-1)[
            0, prompt_length:
        ]
        recomputed = uncached_greedy(chain_model, chain, ids, NEW_TOKENS)
        rows.append(
            judged(f"{name} chain: cached vs recompute", *where, cached.tolist(), recomputed, "greedy tokens")
        )
    chains = [tuple(range(chain_model.n_layers)), *CHAINS.values()]
    lanes = ChainEngine(chain_model, plain_prompt(chain_model, ids)).decode(
        chains, max_new_tokens=NEW_TOKENS, finished=lambda tokens: False
    )
    alone = [
        ChainEngine(chain_model, plain_prompt(chain_model, ids), EngineConfig(lane_kv_mb=0)).decode(
            [chain], max_new_tokens=NEW_TOKENS, finished=lambda tokens: False
        )[0]
        for chain in chains
    ]
    rows.append(
        judged(
            "engine lanes vs each chain alone",
            *where,
            sum(lanes, []),
            sum(alone, []),
            f"{len(chains)} chains",
        )
    )
    full = range(chain_model.n_layers)
    greedy = chain_model.generate(ids, full, max_new_tokens=NEW_TOKENS, eos_token_id=-1)[0, prompt_length:]
    drafted, _ = speculative_generate(
        chain_model, ids, CHAINS["skip"], k=3, max_new_tokens=NEW_TOKENS, eos_token_id=-1
    )  # no stop on either side: the tiny models emit their end token freely
    rows.append(judged("speculative vs greedy", *where, drafted, greedy.tolist(), "draft = skip chain"))
    return rows


@torch.inference_mode()
def family_checks(family: str, device: str, dtype: torch.dtype) -> list[CheckRow]:
    where = (family, device, str(dtype).removeprefix("torch."))
    model = build_tiny_model(family).to(device=device, dtype=dtype)
    chain_model = ChainModel(model)
    ids = torch.randint(2, 90, (1, 14), generator=torch.Generator().manual_seed(1)).to(device)
    return [identity_row(model, chain_model, ids, where), *decoding_rows(chain_model, ids, where)]


@torch.inference_mode()
def engine_bench(
    shape: str, device: str, *, chains: int = 16, new_tokens: int = 32, layers: int | None = None
) -> CheckRow:
    """Naive (each chain alone, no shared prefix) against the engine's lanes: new tokens a second
    over ``chains`` chains that each skip one layer of the shape, decoding after a 64-token prompt."""
    model = build_large_shape(shape, device=device, dtype=torch.bfloat16, num_hidden_layers=layers)
    chain_model = ChainModel(model)
    n = chain_model.n_layers
    skipped = [
        tuple(layer for layer in range(n) if layer != skip) for skip in range(n - 1, n - 1 - chains, -1)
    ]
    ids = torch.randint(10, 1000, (1, 64), generator=torch.Generator().manual_seed(0)).to(device)
    rates = {}
    for name, config in (("naive", EngineConfig(reuse_prefixes=False)), ("engine", EngineConfig())):
        engine = ChainEngine(chain_model, plain_prompt(chain_model, ids), config)
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        engine.decode(skipped, max_new_tokens=new_tokens, finished=lambda tokens: False)
        if device == "cuda":
            torch.cuda.synchronize()
        rates[name] = chains * new_tokens / (time.perf_counter() - start)
    value = (
        f"naive {rates['naive']:.1f} tok/s, engine {rates['engine']:.1f} tok/s, "
        f"{rates['engine'] / rates['naive']:.2f}x ({chains} chains x {new_tokens} tokens)"
    )
    return CheckRow("search bench: naive vs engine", shape, device, "bfloat16", value, None)


def device_checks(device: str, *, bench_shape: str | None = "qwen2-7b") -> list[CheckRow]:
    """Every family in float32 and bfloat16 on ``device`` (CUDA without TF32, so float32 means
    float32), then the bench on ``bench_shape`` (on CUDA only)."""
    if device == "cuda":
        if not torch.cuda.is_available():
            return [CheckRow("all", "-", "cuda", "-", "skipped", None, "no CUDA device here")]
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    rows = [
        row
        for dtype in (torch.float32, torch.bfloat16)
        for family in FAMILY_NAMES
        for row in family_checks(family, device, dtype)
    ]
    if bench_shape is None:
        return rows
    if device != "cuda":
        note = "a 7B shape decodes at seconds a token on a CPU: run it on a GPU"
        return [
            *rows,
            CheckRow("search bench: naive vs engine", bench_shape, device, "bfloat16", "skipped", None, note),
        ]
    return [*rows, engine_bench(bench_shape, device)]


def rows_markdown(rows: list[CheckRow], *, header: str) -> str:
    mark = {True: "pass", False: "**FAIL**", None: "–"}
    lines = [
        header,
        "",
        "| check | model | device | dtype | result | verdict | note |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.check} | {r.model} | {r.device} | {r.dtype} | {r.value} | {mark[r.passed]} | {r.note} |"
        for r in rows
    ]
    return "\n".join(lines) + "\n"


def rows_json(rows: list[CheckRow]) -> list[dict]:
    return [asdict(row) for row in rows]
