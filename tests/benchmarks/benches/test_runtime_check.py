"""The pieces of the llama.cpp check that need no llama.cpp: a chain's neighbours and the KL."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.benches.runtime_check import kl, neighbours


def test_a_chains_neighbours_are_one_edit_away():
    assert set(neighbours((0, 1, 2))) == {
        (1, 2), (0, 2), (0, 1),  # a step removed
        (2,), (0,),  # two adjacent steps removed
        (0, 0, 1, 2), (0, 1, 1, 2), (0, 1, 2, 2),  # a step run twice
        (1, 0, 2), (0, 2, 1),  # adjacent steps swapped
    }  # fmt: skip
    assert (5, 5) not in neighbours((5, 5)) and (5,) in neighbours((5, 5))


def test_kl_is_zero_on_itself_positive_elsewhere_and_reads_the_shared_vocabulary():
    logits = np.array([2.0, 0.5, -1.0, 0.0])
    assert kl(logits, logits) == pytest.approx(0.0, abs=1e-12)
    assert kl(logits, logits + np.array([0, 1.0, 0, 0])) > 0
    assert kl(logits, np.append(logits, 50.0)) == pytest.approx(0.0, abs=1e-12)  # a padded vocabulary


@pytest.mark.slow
def test_llamacpp_runs_an_exported_chain_as_that_chain(tmp_path):
    """Where the llamacpp extra is installed (scripts/setup_llamacpp.sh): SmolLM2's skip chain,
    exported, is nearer in llama.cpp to cola's chain than to every chain one edit away, and the
    identity export gives the source GGUF's logits exactly."""
    pytest.importorskip(
        "llama_cpp", reason="the llamacpp extra is not installed: bash scripts/setup_llamacpp.sh"
    )
    from llama_cpp import Llama

    from benchmarks.benches.runtime_check import CHAINS, PROMPTS, check_prompt, llama_next_logits
    from benchmarks.runs.session import open_model
    from cola import parse_chain
    from cola.gguf_export import export_gguf
    from cola.loading import EMBEDDED, embedded_gguf_path

    loaded, chain_model = open_model(spec="smollm2")
    source = embedded_gguf_path(EMBEDDED["smollm2"])
    chain = parse_chain(CHAINS["smollm2"]["skip"], loaded.n_layers)
    export_gguf(source, chain, tmp_path / "skip.gguf")
    export_gguf(source, tuple(range(loaded.n_layers)), tmp_path / "identity.gguf")

    def open_llama(path):
        return Llama(model_path=str(path), n_ctx=256, n_threads=1, logits_all=True, verbose=False)

    skip, original, identity = (
        open_llama(p) for p in (tmp_path / "skip.gguf", source, tmp_path / "identity.gguf")
    )
    for prompt in PROMPTS[:3]:
        ids = loaded.tokenizer(prompt).input_ids
        found = check_prompt(chain_model, skip, ids, chain, neighbours(chain), greedy_tokens=4)
        assert found.nearer_than_every_neighbour, (prompt, found)
        np.testing.assert_array_equal(llama_next_logits(original, ids), llama_next_logits(identity, ids))
