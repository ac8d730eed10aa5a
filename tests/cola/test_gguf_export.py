"""A chain written as a GGUF: read back with the gguf package, every tensor's bytes are its source
layer's, the block count and per-layer arrays follow the chain, and bad input is refused."""

from __future__ import annotations

import gguf
import numpy as np
import pytest

from cola.gguf_export import export_gguf, open_gguf
from cola.loading import sha256_of


def tiny_gguf(path, *, arch="llama", n_layers=3, per_layer=True):
    """Blocks whose tensors hold their layer's index (one quantized to Q8_0), and one per-layer array."""
    writer = gguf.GGUFWriter(path, arch=arch)
    writer.add_block_count(n_layers)
    writer.add_context_length(64)
    writer.add_string("general.name", "tiny")
    if per_layer:
        writer.add_key_value(
            f"{arch}.attention.head_count",
            [4 + layer for layer in range(n_layers)],
            gguf.GGUFValueType.ARRAY,
            sub_type=gguf.GGUFValueType.UINT32,
        )
    rng = np.random.default_rng(0)
    writer.add_tensor("token_embd.weight", rng.standard_normal((16, 32)).astype(np.float32))
    for layer in range(n_layers):
        writer.add_tensor(f"blk.{layer}.attn_norm.weight", np.full(32, layer, dtype=np.float32))
        weights = (rng.standard_normal((32, 32)) + layer).astype(np.float32)
        quantized = gguf.quants.quantize(weights, gguf.GGMLQuantizationType.Q8_0)
        writer.add_tensor(f"blk.{layer}.ffn_up.weight", quantized, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    writer.add_tensor("output_norm.weight", np.ones(32, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def tensors(reader) -> dict[str, gguf.ReaderTensor]:
    return {tensor.name: tensor for tensor in reader.tensors}


def test_each_step_holds_its_layers_tensors_byte_for_byte(tmp_path):
    source = tiny_gguf(tmp_path / "tiny.gguf")
    chain = (0, 2, 2, 1)  # a skip-free reorder with a repeat
    summary = export_gguf(source, chain, tmp_path / "chain.gguf")
    original, written = tensors(open_gguf(source)), tensors(open_gguf(tmp_path / "chain.gguf"))
    assert set(written) == {"token_embd.weight", "output_norm.weight"} | {
        f"blk.{step}.{name}" for step in range(4) for name in ("attn_norm.weight", "ffn_up.weight")
    }
    for step, layer in enumerate(chain):
        for name in ("attn_norm.weight", "ffn_up.weight"):
            ours, theirs = written[f"blk.{step}.{name}"], original[f"blk.{layer}.{name}"]
            assert ours.tensor_type == theirs.tensor_type and ours.shape.tolist() == theirs.shape.tolist()
            assert ours.data.tobytes() == theirs.data.tobytes()
    assert written["token_embd.weight"].data.tobytes() == original["token_embd.weight"].data.tobytes()
    assert written["blk.1.ffn_up.weight"].tensor_type == gguf.GGMLQuantizationType.Q8_0  # not re-quantized
    assert summary["out_bytes"] > summary["source_bytes"]  # the repeated layer's bytes, once more


def test_the_metadata_follows_the_chain_and_names_its_source(tmp_path):
    source = tiny_gguf(tmp_path / "tiny.gguf")
    export_gguf(source, (2, 0), tmp_path / "chain.gguf")
    fields = open_gguf(tmp_path / "chain.gguf").fields
    assert fields["llama.block_count"].contents() == 2
    assert fields["llama.attention.head_count"].contents() == [6, 4]  # each step takes its layer's
    assert fields["llama.context_length"].contents() == 64 and fields["general.name"].contents() == "tiny"
    assert fields["cola.chain"].contents() == "2,0"
    assert fields["cola.source_sha256"].contents() == sha256_of(source)
    assert fields["cola.version"].contents()


def test_gemma3_steps_keep_each_layers_attention_type(tmp_path):
    source = tiny_gguf(tmp_path / "gemma.gguf", arch="gemma3", n_layers=7, per_layer=False)
    export_gguf(source, (0, 5, 5, 6), tmp_path / "chain.gguf")
    fields = open_gguf(tmp_path / "chain.gguf").fields
    # the every-sixth rule on the source layers: layer 5 is global, 0 and 6 slide
    assert fields["gemma3.attention.sliding_window_pattern"].contents() == [True, False, False, True]


def test_bad_input_is_refused_with_what_is_wrong(tmp_path):
    source = tiny_gguf(tmp_path / "tiny.gguf")
    with pytest.raises(ValueError, match="layer 3 .* out of range for a 3-layer model"):
        export_gguf(source, (0, 3), tmp_path / "out.gguf")
    with pytest.raises(ValueError, match="empty chain"):
        export_gguf(source, (), tmp_path / "out.gguf")
    (tmp_path / "text.gguf").write_text("not a model")
    with pytest.raises(ValueError, match="is not a GGUF file"):
        export_gguf(tmp_path / "text.gguf", (0,), tmp_path / "out.gguf")
    with pytest.raises(FileNotFoundError, match="GGUF file not found"):
        export_gguf(tmp_path / "missing.gguf", (0,), tmp_path / "out.gguf")
    other = tiny_gguf(tmp_path / "gpt2.gguf", arch="gpt2")
    with pytest.raises(ValueError, match="architecture 'gpt2'"):
        export_gguf(other, (0,), tmp_path / "out.gguf")
    assert not (tmp_path / "out.gguf").exists()


@pytest.mark.slow
def test_smollm2s_exported_chain_loads_in_transformers_and_runs_the_chain(tmp_path):
    """transformers' own GGUF reader loads the export as a 31-layer model whose plain forward
    equals cola's chain on the source model (the same dequantized bytes, read independently)."""
    import torch

    from cola import ChainModel, load_model, parse_chain
    from cola.loading import EMBEDDED, embedded_gguf_path

    chain = parse_chain("0-9,9,10-20,22-29", 30)  # a repeat and a skip
    out = tmp_path / "smollm2-chain.gguf"
    export_gguf(embedded_gguf_path(EMBEDDED["smollm2"]), chain, out)
    source, exported = load_model("smollm2"), load_model(str(out))
    assert exported.n_layers == len(chain)
    ids = source.tokenizer(
        "The capital of France is Paris. The capital of Italy is", return_tensors="pt"
    ).input_ids
    with torch.inference_mode():
        ours = ChainModel(source.model).forward(ids, chain)
        theirs = exported.model(ids).logits
    torch.testing.assert_close(theirs, ours, atol=1e-4, rtol=1e-4)


def test_the_script_writes_a_chain_text_and_refuses_what_it_cannot(tmp_path):
    from tests.benchmarks.runs.test_search_run import one_line_error, script

    source = tiny_gguf(tmp_path / "tiny.gguf")
    done = script(
        "export_gguf.py", "--model", str(source), "--chain", "0,2", "--out", str(tmp_path / "o.gguf")
    )
    assert done.returncode == 0, done.stderr
    assert open_gguf(tmp_path / "o.gguf").fields["cola.chain"].contents() == "0,2"
    out_of_range = script(
        "export_gguf.py", "--model", str(source), "--chain", "0,5", "--out", str(tmp_path / "x.gguf")
    )
    assert out_of_range.returncode != 0 and "layer 5" in one_line_error(out_of_range.stderr)
    not_gguf = script(
        "export_gguf.py", "--model", "weights.bin", "--chain", "0", "--out", str(tmp_path / "x.gguf")
    )
    assert not_gguf.returncode != 0 and ".gguf file" in one_line_error(not_gguf.stderr)
    assert not (tmp_path / "x.gguf").exists()


@pytest.mark.slow
def test_a_static_chain_policy_of_the_model_exports_and_one_of_other_weights_is_refused(tmp_path):
    from cola import load_model
    from cola.chainfile import weights_fingerprint
    from cola.policy import StaticChain, save_policy
    from tests.benchmarks.runs.test_search_run import one_line_error, script

    smollm2 = load_model("smollm2")
    policy = tmp_path / "static.safetensors"
    chain = (*range(0, 12), *range(13, 30))
    save_policy(
        StaticChain(chain),
        policy,
        fingerprint=weights_fingerprint(smollm2.model),
        n_layers=30,
        trained_toward="gold",
    )
    done = script("export_gguf.py", "--policy", str(policy), "--out", str(tmp_path / "p.gguf"))
    assert done.returncode == 0, done.stderr
    fields = open_gguf(tmp_path / "p.gguf").fields
    assert fields["cola.chain"].contents() == "0-11,13-29" and fields["llama.block_count"].contents() == 29
    refused = script(
        "export_gguf.py", "--model", "gemma3_270m", "--policy", str(policy), "--out", str(tmp_path / "g.gguf")
    )
    assert refused.returncode != 0 and "other weights" in one_line_error(refused.stderr)
