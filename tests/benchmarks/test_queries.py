"""Prompts render as documented, and queries score choices as lm-eval does."""

import pytest
import torch

from benchmarks.datasets import load_benchmark
from benchmarks.prompts import arc_context, arc_letter_prompt, gsm8k_prompt
from benchmarks.queries import letter_query, loglikelihood_query

ARC = load_benchmark("arc_easy", split="test", path="tests/fixtures/arc_mixed.jsonl")
GSM = load_benchmark("gsm8k", split="test", path="tests/fixtures/gsm8k_small.jsonl")


def test_arc_prompts_render_as_documented():
    assert arc_context(ARC[0]) == "Question: What do plants need?\nAnswer:"
    assert (
        arc_letter_prompt(ARC[1]) == "Question: Which is a gas?\n1. steam\n2. ice\n3. wood\n4. stone\nAnswer:"
    )


def test_gsm8k_prompts_render_as_documented():
    assert gsm8k_prompt(GSM[0], mode="direct") == (
        "Question: Tom has 3 apples and gets 4 more . How many apples ?\n"
        "Give only the final answer as a number, with no explanation.\nAnswer:"
    )
    cot = gsm8k_prompt(GSM[2], mode="cot", shots=GSM[:2])
    assert cot == (
        "Question: Tom has 3 apples and gets 4 more . How many apples ?\nAnswer: 3 + 4 = 7\n#### 7\n\n"
        "Question: A box has 10 pens . 2 are lost . How many pens ?\nAnswer: 10 - 2 = 8\n#### 8\n\n"
        "Question: Sam owes 5 dollars and pays 9 . What is left ?\nAnswer:"
    )


def test_chat_prompt_opens_the_assistant_turn(tokenizer):
    prompt = arc_letter_prompt(ARC[0], tokenizer=tokenizer, chat=True)
    assert prompt.startswith("<|im_start|>user\nWhat do plants need?\nA. light\n")
    assert prompt.endswith(
        "Answer with the label of the correct choice only.<|im_end|>\n<|im_start|>assistant\n"
    )


@pytest.mark.parametrize("index", [0, 1, 2])  # labels A-D, 1-4, A-E
def test_letter_query_candidates_are_the_label_tokens(tokenizer, index):
    example = ARC[index]
    query = letter_query(example, tokenizer, chat=False)
    expected = [tokenizer.convert_tokens_to_ids(c.label) for c in example.choices]
    assert list(query.candidate_ids) == expected
    assert query.gold == example.gold_index
    logits = torch.full((1, 1, len(tokenizer)), -5.0)
    logits[0, 0, expected[-1]] = 3.0
    outcome = query.score(torch.zeros(1, 1, 4), head=lambda hidden: logits[:, -1])
    assert outcome.prediction == len(example.choices) - 1


def test_loglikelihood_query_scores_continuations(tokenizer):
    example = ARC[2]  # five choices, one of two words
    query = loglikelihood_query(example, tokenizer, chat=False)
    context_length = len(tokenizer(arc_context(example)).input_ids)
    assert query.input_ids.shape[0] == 5
    assert query.context_lengths == (context_length,) * 5
    assert [len(ids) for ids in query.continuation_ids] == [2, 1, 1, 2, 1]
    assert query.choice_chars == (7, 3, 4, 8, 4)
    # A head that gives every vocabulary entry equal probability: score = -n_tokens * log(V).
    vocab = len(tokenizer)
    outcome = query.score(
        torch.zeros(5, query.input_ids.shape[1], 4), head=lambda h: torch.zeros(h.shape[0], vocab)
    )
    expected = [-n * torch.log(torch.tensor(float(vocab))).item() for n in (2, 1, 1, 2, 1)]
    assert outcome.scores == pytest.approx(expected, rel=1e-5)
    assert outcome.prediction == 1  # the first single-token choice wins on raw sum
    # Divided by characters: -2L/7, -L/3, -L/4, -2L/8, -L/4; ties go to the first, as np.argmax.
    assert outcome.prediction_norm == 2


def test_loglikelihood_positions_predict_the_continuation_tokens(tokenizer):
    example = ARC[0]
    query = loglikelihood_query(example, tokenizer, chat=False)
    rows, cols = query.positions
    targets = [token for ids in query.continuation_ids for token in ids]
    assert query.input_ids[rows, cols + 1].tolist() == targets


class DigitSplittingTokenizer:
    """Stand-in for SmolLM2's tokenizer, where ' 1' is two tokens (space, digit) but ' A' is one."""

    def __call__(self, text, add_special_tokens=True):
        class Encoded:
            input_ids = (
                [200 + ord(text[1])]
                if text.startswith(" ") and text[1:].isalpha()
                else [ord(c) for c in text]
            )

        return Encoded()


def test_letter_query_relabels_numeric_choices_when_labels_are_not_single_tokens():
    example = ARC[1]  # labels 1-4, gold "1"
    query = letter_query(example, DigitSplittingTokenizer(), chat=False)
    assert query.prompt == "Question: Which is a gas?\nA. steam\nB. ice\nC. wood\nD. stone\nAnswer:"
    assert query.candidate_ids == tuple(200 + ord(letter) for letter in "ABCD")
    assert query.gold == 0


@pytest.mark.parametrize("chain", [(0, 1, 2, 3), (0, 1, 1, 3, 2)])
def test_packed_choices_score_as_separate_rows(tiny_model, tokenizer, chain):
    """One row holding the context once and every choice after it scores as one row per choice,
    on every family (sliding-window layers included: the context is longer than the window)."""
    from cola import ChainModel
    from cola.tiny_models import WINDOW

    chain_model = ChainModel(tiny_model)
    query = loglikelihood_query(ARC[2], tokenizer, chat=False)
    assert query.context_lengths[0] > WINDOW
    packed = query.packed
    assert packed.input_ids.shape[1] == query.context_lengths[0] + sum(map(len, query.continuation_ids))
    with torch.inference_mode():
        rows = chain_model.embed(query.input_ids)
        rows_inputs = chain_model.step_inputs(rows, attention_mask=query.attention_mask)
        expected = query.score(chain_model.run_steps(rows, chain, rows_inputs), chain_model.head)
        one_row = chain_model.embed(packed.input_ids)
        packed_inputs = chain_model.packed_inputs(one_row, packed.position_ids, packed.visible)
        hidden = chain_model.run_steps(one_row, chain, packed_inputs)
        (outcome,) = query.score_packed_many([hidden], chain_model.head)
    assert outcome.scores == pytest.approx(expected.scores, abs=1e-4)
    assert (outcome.prediction, outcome.prediction_norm) == (expected.prediction, expected.prediction_norm)


def test_packed_choices_see_the_context_and_their_own_tokens_only(tokenizer):
    query = loglikelihood_query(ARC[2], tokenizer, chat=False)
    packed, context = query.packed, query.context_lengths[0]
    first, second = context, context + len(query.continuation_ids[0])
    visible = packed.visible[0]
    assert visible[first + 1, : first + 2].all()  # the context and its own first token
    assert not visible[second, first]  # never another choice's token
    assert packed.position_ids[0, second].item() == context  # each choice starts after the context


def test_only_a_direct_answer_settles_before_the_end(tokenizer):
    from benchmarks.queries import generation_query

    direct = generation_query(GSM[0], tokenizer, mode="direct", chat=False, shots=[], max_new_tokens=16)
    cot = generation_query(GSM[0], tokenizer, mode="cot", chat=False, shots=[], max_new_tokens=16)
    assert direct.answer_settled("18 dollars") and not direct.answer_settled("18")
    assert not direct.answer_settled("Question: 5 ")  # cut at the stop string: no number yet
    assert not cot.answer_settled("18 dollars")  # the last number, or the one after ####, decides
