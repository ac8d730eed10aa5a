"""A chain's GGUF export checked by llama.cpp itself (through llama-cpp-python, the ``llamacpp``
extra): llama.cpp's next-token distribution for chain c against cola's for c and for every chain
one edit away from c. llama.cpp quantizes activations in its matmuls, so no fixed tolerance tells a
right export from a wrong one; what does is that on every prompt llama.cpp's output for c lies
nearer cola's output for c than cola's output for any neighbour of c. Both sides read the same
token ids (the model's own tokenizer, BOS as it adds it)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from cola import ChainModel
from cola.engine import ChainEngine, plain_prompt

PROMPTS = (
    "The capital of France is Paris. The capital of Italy is",
    "Water boils at a temperature of",
    "The largest planet in our solar system is",
    "To make a cup of tea, first",
    "The opposite of hot is",
    "Photosynthesis is the process by which plants",
    "One, two, three, four,",
    "The author of Romeo and Juliet is",
    "A triangle has three sides; a square has",
    "The chemical symbol for gold is",
    "In the morning, the sun rises in the",
    "Question: What do bees make? Answer:",
    "The fastest land animal is the",
    "Monday, Tuesday, Wednesday,",
    "The freezing point of water in Celsius is",
    "Dogs are mammals, and snakes are",
    "The first letter of the English alphabet is",
    "If you drop a ball, gravity pulls it",
    "The color of a clear daytime sky is",
    "Ice is the solid form of",
)

CHAINS = {  # per model: the identity chain and one of each edit, as text
    "smollm2": {
        "identity": "0-29",
        "skip": "0-14,16-29",
        "repeat": "0-9,9,10-29",
        "reorder": "0-14,16,15,17-29",
    },
    "gemma3_270m": {
        "identity": "0-17",
        "skip": "0-8,10-17",
        "repeat": "0-5,5,6-17",
        "reorder": "0-8,10,9,11-17",
    },
}


def neighbours(chain: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Every chain one of cola's search edits away from ``chain`` (a step or two adjacent steps
    removed, a step run twice) or two adjacent steps swapped."""
    found = set()
    for step in range(len(chain)):
        for width in (1, 2):
            if len(chain) > width:
                found.add(chain[:step] + chain[step + width :])
        found.add(chain[: step + 1] + chain[step:])
        if step + 1 < len(chain):
            found.add(chain[:step] + (chain[step + 1], chain[step]) + chain[step + 2 :])
    found.discard(chain)
    return sorted(found)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max()
    return shifted - np.log(np.exp(shifted).sum())


def kl(p_log: np.ndarray, q_log: np.ndarray) -> float:
    """KL(p || q) in nats, over the vocabulary both share."""
    size = min(len(p_log), len(q_log))
    p_log, q_log = log_softmax(p_log[:size]), log_softmax(q_log[:size])
    return float((np.exp(p_log) * (p_log - q_log)).sum())


@torch.inference_mode()
def cola_next_logits(
    chain_model: ChainModel, ids: list[int], chains: list[tuple[int, ...]]
) -> list[np.ndarray]:
    """Each chain's next-token logits after ``ids``, the chains run together by the engine (shared
    prefixes computed once; equal to running each alone, as the engine's tests check)."""
    engine = ChainEngine(chain_model, plain_prompt(chain_model, torch.tensor([ids])))
    states = engine.final_states(chains)
    return [chain_model.head(state[:, -1:])[0, -1].float().numpy() for state in states]


def llama_next_logits(llm, ids: list[int]) -> np.ndarray:
    llm.reset()
    llm.eval(ids)
    return np.array(llm.scores[len(ids) - 1], dtype=np.float64)


def greedy_after_prompt(llm, steps: int) -> list[int]:
    """``steps`` greedy tokens, each fed back, after what llama.cpp has evaluated so far."""
    tokens = []
    for _ in range(steps):
        tokens.append(int(np.argmax(llm.scores[llm.n_tokens - 1])))
        llm.eval([tokens[-1]])
    return tokens


def llama_greedy(llm, ids: list[int], steps: int) -> list[int]:
    llm.reset()
    llm.eval(ids)
    return greedy_after_prompt(llm, steps)


@dataclass(frozen=True)
class PromptCheck:
    kl_to_chain: float  # KL(cola's chain || llama.cpp's export)
    nearest_neighbour_kl: float  # the least KL(cola's neighbour || llama.cpp's export)
    nearest_neighbour: str
    same_top_token: bool
    greedy_first_divergence: int | None  # None: the 32 greedy tokens agree

    @property
    def nearer_than_every_neighbour(self) -> bool:
        return self.kl_to_chain < self.nearest_neighbour_kl


def check_prompt(
    chain_model: ChainModel, llm, ids: list[int], chain, others, greedy_tokens: int
) -> PromptCheck:
    from cola.chain import format_chain

    theirs = llama_next_logits(llm, ids)
    ours, *around = cola_next_logits(chain_model, ids, [chain, *others])
    distances = [kl(other, theirs) for other in around]
    nearest = int(np.argmin(distances))
    ours_greedy = chain_model.generate(
        torch.tensor([ids]), chain, max_new_tokens=greedy_tokens, eos_token_id=-1
    )
    ours_greedy = ours_greedy[0, len(ids) :].tolist()
    theirs_greedy = llama_greedy(llm, ids, greedy_tokens)
    divergence = next(
        (i for i, (a, b) in enumerate(zip(ours_greedy, theirs_greedy, strict=True)) if a != b), None
    )
    return PromptCheck(
        kl_to_chain=kl(ours, theirs),
        nearest_neighbour_kl=distances[nearest],
        nearest_neighbour=format_chain(others[nearest]),
        same_top_token=int(np.argmax(ours)) == int(np.argmax(theirs[: len(ours)])),
        greedy_first_divergence=divergence,
    )


def tokens_per_second(llm, ids: list[int], new_tokens: int) -> tuple[float, float]:
    """llama.cpp's prefill and decode rates on one prompt (greedy decoding, no sampling)."""
    llm.reset()
    start = time.perf_counter()
    llm.eval(ids)
    prefill = len(ids) / (time.perf_counter() - start)
    start = time.perf_counter()
    greedy_after_prompt(llm, new_tokens)
    return prefill, new_tokens / (time.perf_counter() - start)
