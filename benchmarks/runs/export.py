"""Chain files from search runs: each sample's best chain, bound to the model's weights."""

from __future__ import annotations

from pathlib import Path

from benchmarks.analysis.search_summary import summarize_search
from benchmarks.results import ResultsLog
from cola import Chain, LoadedModel, parse_chain
from cola.chainfile import ChainEntry, ChainFile, weights_fingerprint


def chain_file_from_run(
    run_dir: str | Path, loaded: LoadedModel, *, static_chain: Chain | None = None
) -> ChainFile:
    records = ResultsLog(Path(run_dir) / "results.jsonl").records
    if not records:
        raise FileNotFoundError(f"no search results in {run_dir}/results.jsonl")
    if records[0]["model"] != loaded.name or records[0]["n_layers"] != loaded.n_layers:
        raise ValueError(
            f"{run_dir} holds results for {records[0]['model']} ({records[0]['n_layers']} layers), "
            f"not {loaded.name} ({loaded.n_layers} layers)"
        )
    entries = [
        ChainEntry(
            r["benchmark"], r["id"], parse_chain(r["best_chain"], loaded.n_layers), r["original_correct"]
        )
        for r in records
        if r["best_chain"]
    ]
    first = records[0]
    return ChainFile(
        model_name=loaded.name,
        model_type=loaded.model.config.model_type,
        n_layers=loaded.n_layers,
        fingerprint=weights_fingerprint(loaded.model),
        chains=entries,
        source={key: first[key] for key in ("benchmark", "split", "mode", "search", "seed")},
        summary=summarize_search(records),
        static_chain=static_chain,
    )
