"""A chain written as a GGUF file that llama.cpp loads as it is: the source's blocks renumbered per
step (a repeated layer's tensors written once per step it runs, since a GGUF's tensor data must lie
in sequence), every tensor copied byte for byte (no re-quantization), the block count and each
per-layer metadata array rewritten per step, and the chain, the source's sha256 and cola's version
recorded in the metadata.

A layer's behaviour in llama.cpp is its tensors plus what its index decides; the index must not
decide anything this writer cannot carry over. Llama, Qwen 2 and Qwen 3 blocks are alike but for
their tensors; Gemma 3 decides a layer's attention (sliding window or global, and its rope base)
from a per-layer boolean array ``gemma3.attention.sliding_window_pattern`` when present, else from
the every-sixth-layer rule, so the export writes that array per step from the source layers' own
types. Other architectures are refused by name.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import gguf

from cola.chain import format_chain, validate_chain
from cola.loading import sha256_of

# Gemma 3: layer i is global (full attention) when (i + 1) % 6 == 0 (llama.cpp: set_swa_pattern(6)).
GEMMA3_SWA_PERIOD = 6
ARCHITECTURES = ("llama", "qwen2", "qwen3", "gemma3")


def _cola_version() -> str:
    try:
        return version("cola")
    except PackageNotFoundError:
        return "unknown"


def check_gguf(path: str | Path) -> Path:
    """``path`` if it is a file that starts as a GGUF does (a cheap check: parsing the metadata of a
    model with a large vocabulary takes seconds)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"GGUF file not found: {path}")
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file (its first bytes are not 'GGUF')")
    return path


def open_gguf(path: str | Path) -> gguf.GGUFReader:
    return gguf.GGUFReader(check_gguf(path))


def architecture(reader: gguf.GGUFReader) -> str:
    return reader.fields[gguf.Keys.General.ARCHITECTURE].contents()


def block_count(reader: gguf.GGUFReader) -> int:
    """The file's number of blocks (layers)."""
    return int(reader.fields[f"{architecture(reader)}.block_count"].contents())


def block_of(name: str) -> tuple[int, str] | None:
    """``blk.12.attn_q.weight`` -> (12, "attn_q.weight"); None for a tensor outside the blocks."""
    if not name.startswith("blk."):
        return None
    index, _, rest = name[4:].partition(".")
    return int(index), rest


def _copy_metadata(reader, writer, arch: str, chain: tuple[int, ...], n_layers: int) -> None:
    """Every key but the writer's own, with the block count and per-layer arrays rewritten."""
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == gguf.Keys.General.ARCHITECTURE:
            continue
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        value = field.contents()
        if name == f"{arch}.block_count":
            value = len(chain)
        elif name.startswith(f"{arch}.") and kind == gguf.GGUFValueType.ARRAY and len(value) == n_layers:
            value = [value[layer] for layer in chain]  # a per-layer array: each step takes its layer's
        elif name == gguf.Keys.General.ALIGNMENT:
            writer.data_alignment = value
        writer.add_key_value(name, value, kind, sub_type=sub)
    pattern_key = f"{arch}.attention.sliding_window_pattern"
    if arch == "gemma3" and pattern_key not in reader.fields:
        sliding = [(layer + 1) % GEMMA3_SWA_PERIOD != 0 for layer in chain]
        writer.add_key_value(pattern_key, sliding, gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.BOOL)


def export_gguf(source: str | Path, chain, out: str | Path, *, reader: gguf.GGUFReader | None = None) -> dict:
    """Write ``chain`` over the GGUF model ``source`` to ``out``; returns what was written.
    ``reader``: ``source`` already opened (its metadata parsed once by a caller that read it)."""
    source, out = Path(source), Path(out)
    reader = open_gguf(source) if reader is None else reader
    arch = architecture(reader)
    if arch not in ARCHITECTURES:
        raise ValueError(
            f"cannot rewrite the per-layer settings of GGUF architecture {arch!r}: cola writes "
            f"{', '.join(ARCHITECTURES)}"
        )
    n_layers = block_count(reader)
    chain = validate_chain(chain, n_layers)
    blocks: dict[int, list] = {}
    outside = []
    for tensor in reader.tensors:
        found = block_of(tensor.name)
        (outside if found is None else blocks.setdefault(found[0], [])).append(tensor)
    ordered = [(t.name, t) for t in outside if t.name == "token_embd.weight"]
    ordered += [
        (f"blk.{step}.{block_of(t.name)[1]}", t) for step, layer in enumerate(chain) for t in blocks[layer]
    ]
    ordered += [(t.name, t) for t in outside if t.name != "token_embd.weight"]
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(out, arch=arch, endianess=reader.endianess)
    _copy_metadata(reader, writer, arch, chain, n_layers)
    writer.add_string("cola.chain", format_chain(chain))
    writer.add_string("cola.source_sha256", sha256_of(source))
    writer.add_string("cola.version", _cola_version())
    for name, tensor in ordered:
        writer.add_tensor_info(
            name, tensor.data.shape, tensor.data.dtype, tensor.data.nbytes, tensor.tensor_type
        )
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for _, tensor in ordered:
        writer.write_tensor_data(tensor.data)
    writer.close()
    return {
        "source": str(source),
        "out": str(out),
        "architecture": arch,
        "chain": format_chain(chain),
        "source_bytes": source.stat().st_size,
        "out_bytes": out.stat().st_size,
    }
