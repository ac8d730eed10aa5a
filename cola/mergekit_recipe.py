"""A chain written as a mergekit "passthrough" recipe: the YAML that people who build skip/repeat
models by hand write, so ``mergekit-yaml`` builds the chain's checkpoint from a local one.

A recipe is a list of slices, each a half-open ``layer_range`` of the source; a chain becomes one
slice per run of consecutive ascending layers (``0-9,9,10-29`` is ``[0, 10)`` then
``[9, 30)``), so a repeat or a reorder starts a new slice. mergekit stacks the slices' layers in
order and copies everything outside the layers (embeddings, final norm, head) from the source, which
is what :func:`cola.materialize.materialize` does; ``dtype: float32`` keeps the copies exact.

mergekit rewrites the layer count in the config it writes and nothing else that is per layer. Where
a family keeps per-layer attention types (Gemma 3's ``layer_types``: sliding window or global), the
source's list no longer fits (transformers 5 refuses to save a config whose count differs, after
the weights are written; a chain of the same length would silently get its new indices' types). So
for such a family the recipe names a ``base_model`` that cola writes beside it: the source's files
linked, with a config whose layers and types already follow the chain, which mergekit takes as the
merged config (and its tokenizer) and whose weights are the source's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from cola.chain import format_chain, validate_chain
from cola.families import family_for
from cola.materialize import chain_config

CONFIG = "config.json"


def chain_slices(chain: Iterable[int]) -> list[tuple[int, int]]:
    """The chain as half-open ranges of consecutive ascending layers, in order."""
    slices: list[list[int]] = []
    for layer_idx in chain:
        if slices and slices[-1][1] == layer_idx:
            slices[-1][1] = layer_idx + 1
        else:
            slices.append([layer_idx, layer_idx + 1])
    return [(start, end) for start, end in slices]


def read_config(checkpoint: str | Path):
    """The transformers config of a local checkpoint, read without its weights."""
    from transformers import AutoConfig

    checkpoint = Path(checkpoint)
    if not (checkpoint / CONFIG).is_file():
        raise FileNotFoundError(f"{checkpoint} is not a transformers checkpoint: it has no {CONFIG}")
    return AutoConfig.from_pretrained(checkpoint)


def needs_base(config) -> bool:
    """Whether mergekit must be given the chain's config (a family with per-layer attention types)."""
    return getattr(config, "layer_types", None) is not None


def write_config_base(checkpoint: Path, config, chain: tuple[int, ...], base: Path) -> Path:
    """A directory that is ``checkpoint`` (its files linked) but for a config that follows ``chain``."""
    base.mkdir(parents=True, exist_ok=True)
    for stale in base.iterdir():  # a base written before, perhaps over another checkpoint
        if stale.is_symlink() or stale.name == CONFIG:
            stale.unlink()
    for path in checkpoint.iterdir():
        if path.name != CONFIG and path.is_file():
            (base / path.name).symlink_to(path.resolve())
    chain_config(config, chain).to_json_file(base / CONFIG)
    return base


def write_mergekit_recipe(
    checkpoint: str | Path, chain: Iterable[int], out: str | Path, dtype: str = "float32"
) -> list[Path]:
    """Write the passthrough recipe that builds ``chain`` over the local ``checkpoint`` to ``out``
    (and, for a family with per-layer attention types, its config base beside it); the paths written."""
    checkpoint, out = Path(checkpoint).resolve(), Path(out)
    config = read_config(checkpoint)
    family_for(config)
    chain = validate_chain(chain, config.num_hidden_layers)
    recipe: dict = {"merge_method": "passthrough", "dtype": dtype}
    written = [out]
    if needs_base(config):
        base = write_config_base(checkpoint, config, chain, out.with_name(out.stem + ".base"))
        recipe["base_model"] = str(base.resolve())
        written.append(base)
    recipe["slices"] = [
        {"sources": [{"model": str(checkpoint), "layer_range": [start, end]}]}
        for start, end in chain_slices(chain)
    ]
    header = f"# cola chain {format_chain(chain)} ({len(chain)} layers) over {checkpoint}\n"
    out.write_text(header + yaml.safe_dump(recipe, sort_keys=False))
    return written
