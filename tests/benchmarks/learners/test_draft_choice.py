"""Choosing a draft chain from one teacher-forced pass: its agreements are the chain's own next
tokens, and the rounds replayed from them are the rounds speculative decoding counts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks.learners.draft_choice import (
    forced_agreement,
    full_continuation,
    pooled,
    removal_path,
    simulate_rounds,
)
from cola import ChainModel
from cola.speculative import speculative_generate
from tests.conftest import build_tiny_model

SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"
DRAFTS = [(0, 1, 3), (0, 2, 3), (1, 2, 3), (0, 1, 1, 2, 3)]


@pytest.fixture(scope="module")
def chain_model():
    return ChainModel(build_tiny_model("llama"))


def prompts():
    generator = torch.Generator().manual_seed(5)
    return [torch.randint(2, 90, (1, length), generator=generator) for length in (6, 11)]


def test_forced_agreement_is_each_prefixs_own_next_token(chain_model):
    for prompt in prompts():
        continuation = full_continuation(chain_model, prompt, 8, set(), extra=3)
        assert len(continuation.tokens) == 11 and continuation.stop == 8
        for chain in DRAFTS:
            found = forced_agreement(chain_model, continuation, chain)
            for position, token in enumerate(continuation.tokens):  # decoded one prefix at a time
                prefix = torch.cat([prompt, prompt.new_tensor([continuation.tokens[:position]])], dim=1)
                own = chain_model.generate(prefix, chain, max_new_tokens=1, eos_token_id=[], pad_token_id=0)
                assert found[position] == (int(own[0, -1]) == token)
        full = forced_agreement(chain_model, continuation, tuple(range(4)))
        assert full.all()


@pytest.mark.parametrize("k", [1, 2, 4])
def test_replayed_rounds_are_speculative_decodings_own(chain_model, k):
    for prompt in prompts():
        eos = int(prompt[0, -1])  # a token the model may well produce: stops happen mid-round
        continuation = full_continuation(chain_model, prompt, 12, {eos}, extra=k)
        for chain in DRAFTS:
            replayed = simulate_rounds(
                forced_agreement(chain_model, continuation, chain), continuation.stop, k
            )
            tokens, stats = speculative_generate(
                chain_model, prompt, chain, k=k, max_new_tokens=12, eos_token_id=eos
            )
            assert tokens == continuation.tokens[: continuation.stop]
            assert (replayed.rounds, replayed.drafted, replayed.accepted, replayed.tokens) == (
                stats.rounds,
                stats.drafted,
                stats.accepted,
                stats.tokens,
            ), (chain, k)


def test_rounds_by_hand():
    agreement = np.array([True, True, False, True, True, True, False, False])
    # token 0 from the prompt; round 1 drafts 1,2: keeps 1, adds 2 -> 3 out; round 2 drafts 3,4:
    # keeps both, adds 5 -> 6 out; round 3 drafts 6,7: keeps none, adds 6 -> 7 out
    rounds = simulate_rounds(agreement, 7, 2)
    assert (rounds.rounds, rounds.accepted, rounds.drafted) == (3, 3, 6)
    assert rounds.tokens_per_full_pass == pytest.approx(7 / 4) and rounds.acceptance == 0.5
    both = pooled([agreement, agreement], [7, 7], 2)
    assert (both.rounds, both.tokens) == (6, 14)
    with pytest.raises(ValueError, match="need 9"):
        simulate_rounds(agreement, 7, 3)


def test_the_removal_path_skips_the_most_keeping_layers_first(chain_model):
    continuations = [full_continuation(chain_model, p, 6, set(), extra=0) for p in prompts()]
    path = removal_path(chain_model, continuations, max_removed=2)
    assert path[0]["chain"] == (0, 1, 2, 3) and path[0]["keep_rate"] == 1.0
    singles = {}
    for layer in range(4):
        chain = tuple(k for k in range(4) if k != layer)
        kept = [forced_agreement(chain_model, c, chain)[: c.stop] for c in continuations]
        singles[layer] = float(np.mean(np.concatenate(kept)))
    first = max(range(4), key=lambda layer: (singles[layer], -layer))
    assert path[1]["skipped"] == first and path[1]["single_keep_rate"] == pytest.approx(singles[first])
    assert len(path) == 3 and len(path[2]["chain"]) == 2


@pytest.mark.parametrize(
    ("script", "arguments", "message"),
    [
        ("studies/choose_draft.py", ["--k", "0"], "--k must be at least 1"),
        ("studies/choose_draft.py", ["--prompts", "0"], "--prompts must be at least 1"),
        (
            "studies/bench_speculative.py",
            ["--drafts", "0-29", "--prompts", "0"],
            "--prompts must be at least 1",
        ),
    ],
)
def test_the_decoding_scripts_refuse_bad_options_before_loading_a_model(script, arguments, message):
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / script), "--model", "no-such-model", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and message in done.stderr  # the model name was never read
