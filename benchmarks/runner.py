"""Answer queries under a chain with the composer: one forward for choices, greedy for math."""

from __future__ import annotations

import torch

from benchmarks.queries import ChoiceOutcome, GenerationQuery, LetterQuery, LoglikelihoodQuery
from cola import Chain, ChainModel


@torch.inference_mode()
def answer_choice(
    chain_model: ChainModel, query: LetterQuery | LoglikelihoodQuery, chain: Chain
) -> ChoiceOutcome:
    hidden = chain_model.embed(query.input_ids.to(chain_model.device))
    mask = query.attention_mask.to(chain_model.device) if query.attention_mask is not None else None
    inputs = chain_model.step_inputs(
        hidden, attention_mask=mask, kinds={chain_model.layer_types[i] for i in chain}
    )
    hidden = chain_model.run_steps(hidden, chain, inputs)
    return query.score(hidden, chain_model.head)


def left_pad(sequences: list[torch.Tensor], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(sequence.shape[-1] for sequence in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        ids[row, width - sequence.shape[-1] :] = sequence[0]
        mask[row, width - sequence.shape[-1] :] = 1
    return ids, mask


def stop_rule_for(tokenizer, stop_strings: tuple[str, ...]):
    def should_stop(new_tokens: torch.Tensor) -> torch.Tensor:
        # Stop strings may span tokens: look at the decoded tail of each row.
        tails = tokenizer.batch_decode(new_tokens[:, -8:], skip_special_tokens=False)
        return torch.tensor(
            [any(stop in tail for stop in stop_strings) for tail in tails], device=new_tokens.device
        )

    return should_stop


@torch.inference_mode()
def answer_generation(
    chain_model: ChainModel, tokenizer, queries: list[GenerationQuery], chain: Chain
) -> list[dict]:
    """Greedy answers for a batch of GSM8K queries (left-padded together), graded."""
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    ids, mask = left_pad([query.input_ids for query in queries], pad_id)
    output = chain_model.generate(
        ids.to(chain_model.device),
        chain,
        max_new_tokens=max(query.max_new_tokens for query in queries),
        attention_mask=mask.to(chain_model.device),
        pad_token_id=pad_id,
        stop_rule=stop_rule_for(tokenizer, queries[0].stop_strings),
    )
    texts = tokenizer.batch_decode(output[:, ids.shape[1] :], skip_special_tokens=True)
    return [query.grade(text) for query, text in zip(queries, texts, strict=True)]
