"""A multiple-choice question's packed form: the context once and every continuation after it in
one row, each choice's tokens seeing the context and their own earlier tokens only; and reading
each continuation token's log-probability off the rows that predict it."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class PackedChoices:
    """The context once and every continuation after it, in one row (the engine's form).

    Continuation tokens see the context and their own earlier tokens, never another choice's,
    and take the positions they have in their own row, so each scores as in the row form; the
    context is computed once instead of once per choice.
    """

    input_ids: torch.Tensor  # (1, N)
    position_ids: torch.Tensor  # (1, N)
    visible: torch.Tensor  # (1, N, N) bool
    scored: torch.Tensor  # distinct packed indices whose logits are needed
    scored_index: torch.Tensor  # for each continuation token, its predictor's row in ``scored``

    @classmethod
    def build(cls, context: list[int], continuations: tuple[tuple[int, ...], ...]) -> PackedChoices:
        ids, positions, branch, predictors = list(context), list(range(len(context))), [0] * len(context), []
        for number, continuation in enumerate(continuations, start=1):
            start = len(ids)
            ids += continuation
            positions += range(len(context), len(context) + len(continuation))
            branch += [number] * len(continuation)
            # The context's last token predicts every first continuation token: one logit row.
            predictors += [len(context) - 1] + list(range(start, start + len(continuation) - 1))
        branch_ids = torch.tensor(branch)
        index = torch.arange(len(ids))
        same_branch = (branch_ids[None, :] == 0) | (branch_ids[None, :] == branch_ids[:, None])
        visible = (index[None, :] <= index[:, None]) & same_branch
        scored, scored_index = torch.unique(torch.tensor(predictors), return_inverse=True)
        return cls(torch.tensor([ids]), torch.tensor([positions]), visible[None], scored, scored_index)


def target_log_probs(logits: torch.Tensor, predictors: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Each target token's log-probability under its predictor's row of ``logits`` (rows, V).

    Picks the target logits and subtracts each row's log-sum-exp, so no full-vocabulary copy is
    made: on Gemma's 262k-token vocabulary a log-softmax over a few hundred rows writes and
    rereads hundreds of megabytes the score never looks at."""
    predictors, targets = predictors.to(logits.device), targets.to(logits.device)
    return logits[predictors, targets] - logits.logsumexp(dim=-1)[predictors]
