"""cola's chain engine against independent paths: transformers' own forward and generate on the
identity chain, and an uncached greedy recompute (``ChainModel.forward`` on the whole text so far,
no KV cache) for skip, repeat and reorder chains; in float32, bfloat16 and (when present) CUDA."""

from __future__ import annotations

import pytest
import torch

from cola import ChainModel
from cola.engine import ChainEngine, EngineConfig, packed_prompt, plain_prompt
from tests.conftest import FAMILY_NAMES, build_tiny_model

CHAINS = [(0, 1, 2, 3), (0, 2, 3), (0, 1, 1, 2, 3), (3, 1, 0, 2)]
PROMPT = torch.tensor([[5, 17, 33, 2, 48, 61, 7, 70, 12, 9, 41, 28, 66, 3]])
ENGINES = {
    "lanes": EngineConfig(),
    "one lane at a time": EngineConfig(lane_kv_mb=0),  # the KV bound admits one chain per group
    "naive": EngineConfig(reuse_prefixes=False),
}


def uncached_greedy(chain_model: ChainModel, chain, ids: torch.Tensor, steps: int) -> list[int]:
    """The reference: every new token from a full recompute of the text so far, no cache."""
    tokens = []
    for _ in range(steps):
        logits = chain_model.forward(torch.cat([ids, torch.tensor([tokens], dtype=torch.long)], dim=1), chain)
        tokens.append(int(logits[0, -1].argmax()))
    return tokens


@pytest.mark.parametrize("family", FAMILY_NAMES)
@pytest.mark.parametrize("engine", ENGINES)
@torch.inference_mode()
def test_decoded_chains_equal_an_uncached_recompute(family, engine):
    chain_model = ChainModel(build_tiny_model(family))
    runner = ChainEngine(chain_model, plain_prompt(chain_model, PROMPT), ENGINES[engine])
    decoded = runner.decode(CHAINS, max_new_tokens=6, finished=lambda tokens: False)
    for chain, tokens in zip(CHAINS, decoded, strict=True):
        assert tokens == uncached_greedy(chain_model, chain, PROMPT, 6), chain


@pytest.mark.parametrize("family", FAMILY_NAMES)
@torch.inference_mode()
def test_identity_chain_decodes_as_transformers_generate(family):
    model = build_tiny_model(family)
    chain_model = ChainModel(model)
    runner = ChainEngine(chain_model, plain_prompt(chain_model, PROMPT))
    (tokens,) = runner.decode([tuple(range(4))], max_new_tokens=8, finished=lambda tokens: False)
    expected = model.generate(PROMPT, max_new_tokens=8, do_sample=False, eos_token_id=None, pad_token_id=0)
    assert tokens == expected[0, PROMPT.shape[1] :].tolist()


@pytest.mark.parametrize("family", FAMILY_NAMES)
@torch.inference_mode()
def test_packed_branches_equal_transformers_forward_on_each_sequence(family):
    """A shared context and two branches packed in one row: each branch's final states equal HF's
    forward on context + branch alone (identity chain)."""
    model = build_tiny_model(family)
    chain_model = ChainModel(model)
    context, branches = PROMPT[0, :9].tolist(), ([50, 51, 52], [60, 61])
    ids, positions, owner = list(context), list(range(9)), [0] * 9
    for number, branch in enumerate(branches, start=1):
        ids, positions, owner = (
            ids + branch,
            positions + list(range(9, 9 + len(branch))),
            owner + [number] * len(branch),
        )
    owner = torch.tensor(owner)
    index = torch.arange(len(ids))
    visible = (index[None] <= index[:, None]) & ((owner[None] == 0) | (owner[None] == owner[:, None]))
    prompt = packed_prompt(chain_model, torch.tensor([ids]), torch.tensor([positions]), visible[None])
    (final,) = ChainEngine(chain_model, prompt).final_states([tuple(range(4))])
    logits = chain_model.head(final)[0]
    for number, branch in enumerate(branches, start=1):
        reference = model(torch.tensor([context + branch])).logits[0]
        ours = torch.cat([logits[:9], logits[owner == number]])
        torch.testing.assert_close(ours, reference, atol=1e-5, rtol=1e-5)


BF16_LOGIT_TOLERANCE = 0.02  # measured max error 0.0085 on logits of scale 0.75 (4 layers)


@torch.inference_mode()
def test_bfloat16_engine_tracks_float32():
    """Logits within BF16_LOGIT_TOLERANCE of float32 at every position and chain, and the same
    argmax wherever float32's top-2 margin exceeds twice that (a smaller margin may flip)."""
    logits = {}
    for dtype in (torch.float32, torch.bfloat16):
        chain_model = ChainModel(build_tiny_model("llama").to(dtype))
        hidden = ChainEngine(chain_model, plain_prompt(chain_model, PROMPT)).final_states(CHAINS)
        assert all(state.dtype == dtype for state in hidden)
        logits[dtype] = torch.cat([chain_model.head(state) for state in hidden]).float()
    reference, low = logits[torch.float32], logits[torch.bfloat16]
    assert (low - reference).abs().max() <= BF16_LOGIT_TOLERANCE
    top = reference.topk(2, dim=-1).values
    clear = top[..., 0] - top[..., 1] > 2 * BF16_LOGIT_TOLERANCE
    assert clear.sum() >= 10  # the check below is not vacuous
    assert torch.equal(low.argmax(-1)[clear], reference.argmax(-1)[clear])


def test_work_counts_reuse_shared_prefixes():
    chain_model = ChainModel(build_tiny_model("llama"))
    runner = ChainEngine(chain_model, plain_prompt(chain_model, PROMPT))
    runner.final_states([(0, 1, 2, 3), (0, 1, 3), (0, 1, 2, 3, 3)])  # shared: (0,), (0, 1), (0, 1, 2, 3)
    assert runner.stats.layer_forwards == 4 + 1 + 1
    assert runner.stats.token_layer_forwards == 6 * PROMPT.shape[1]


def test_decoding_refuses_a_batch_of_prompts():
    chain_model = ChainModel(build_tiny_model("llama"))
    runner = ChainEngine(chain_model, plain_prompt(chain_model, torch.cat([PROMPT, PROMPT])))
    with pytest.raises(ValueError, match="one-row prompt, got 2 rows"):
        runner.decode([(0, 1)], max_new_tokens=2, finished=lambda tokens: False)


@torch.inference_mode()
def test_decoding_lanes_keep_their_kv_within_the_bound():
    chain_model = ChainModel(build_tiny_model("llama"))
    prompt = plain_prompt(chain_model, PROMPT)
    new_tokens = 6
    cache = chain_model.new_cache(CHAINS[2])
    chain_model.run_steps(prompt.hidden, CHAINS[2], prompt.inputs, cache=cache)
    for _ in range(new_tokens):
        for step in range(len(CHAINS[2])):
            cache.update(step, *(t[..., -1:, :] for t in cache.history(step)))
    held = cache.allocated_bytes
    estimate = chain_model.kv_cache_bytes(len(CHAINS[2]), PROMPT.shape[1] + new_tokens)
    assert held <= estimate < 2 * held
    # A budget for the last two chains (9 steps): groups [4 + 3 steps] and [5 + 4], in order.
    budget = sum(chain_model.kv_cache_bytes(len(c), PROMPT.shape[1] + new_tokens) for c in CHAINS[2:])
    engine = ChainEngine(chain_model, prompt, EngineConfig(lane_kv_mb=budget / 2**20))
    groups = engine._lane_groups(CHAINS, new_tokens)
    assert [chain for group in groups for chain in group] == CHAINS
    assert len(groups) == 2
    for group in groups:
        assert sum(chain_model.kv_cache_bytes(len(c), PROMPT.shape[1] + new_tokens) for c in group) <= budget


def test_bad_engine_settings_are_refused():
    with pytest.raises(ValueError, match="lookahead must be at least 1, got 0"):
        EngineConfig(lookahead=0)
    with pytest.raises(ValueError, match="prefix_cache_mb must be >= 0"):
        EngineConfig(prefix_cache_mb=-1)
    with pytest.raises(ValueError, match="lane_kv_mb must be >= 0"):
        EngineConfig(lane_kv_mb=-1)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@torch.inference_mode()
def test_engine_on_cuda_equals_the_naive_engine_and_the_cpu():
    model = build_tiny_model("gemma3_text")
    cpu = ChainModel(model)
    expected = ChainEngine(cpu, plain_prompt(cpu, PROMPT)).decode(
        CHAINS, max_new_tokens=5, finished=lambda t: False
    )
    gpu = ChainModel(model.to("cuda"))
    for config in ENGINES.values():
        runner = ChainEngine(gpu, plain_prompt(gpu, PROMPT), config)
        assert runner.decode(CHAINS, max_new_tokens=5, finished=lambda t: False) == expected
        assert all(state.device.type == "cuda" for state in runner.final_states(CHAINS))


def test_the_mmap_threshold_is_fixed_where_glibc_allows():
    import platform

    from cola.malloc import fix_mmap_threshold

    if platform.libc_ver()[0] != "glibc":
        assert fix_mmap_threshold() is False
    else:
        assert fix_mmap_threshold() is True
