"""Shared fixtures: tiny random models of every supported family, built offline from configs."""

from __future__ import annotations

import os

# Tests run offline: lm-eval's `datasets` must read the vendored JSON files, never ask the hub.
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from cola.tiny_models import FAMILY_NAMES, build_tiny_model  # noqa: E402
from tests.tiny_tokenizer import fixture_tokenizer  # noqa: E402

__all__ = ["FAMILY_NAMES", "build_tiny_model"]  # the tests import them from here too


@pytest.fixture(params=FAMILY_NAMES)
def tiny_model(request) -> torch.nn.Module:
    return build_tiny_model(request.param)


@pytest.fixture
def token_ids() -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.randint(2, 90, (2, 14), generator=generator)


@pytest.fixture(scope="session")
def tokenizer():
    return fixture_tokenizer()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """A tiny Llama checkpoint directory with a word tokenizer covering the fixture data."""
    directory = tmp_path_factory.mktemp("tiny-llama")
    build_tiny_model("llama").save_pretrained(directory)
    fixture_tokenizer().save_pretrained(directory)
    return directory
