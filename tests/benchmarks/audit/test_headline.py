"""The audit's headline rows: rendered from the stages' statistics by the README's renderer, and a
row whose figures were not written is left out with its reason instead of losing the document."""

from __future__ import annotations

from benchmarks.audit.headline import headline_lines


def summary(genuine: float | None) -> dict:
    found = {"n": 40, "mean_evaluations": 24.5}
    if genuine is not None:
        found["placebo"] = {
            "n_placebo_pairs": 21,
            "genuine_correction": genuine,
            "genuine_correction_ci": [genuine - 0.2, genuine + 0.2],
            "paired_correction_rate": 0.5,
            "placebo_correction_rate": 0.5 - genuine,
            "by_budget": {"1": {"genuine_correction": 0.1}},
        }
    return found


def test_a_search_row_reads_its_genuine_correction_beside_random_chains_and_own_tries():
    lines = headline_lines(
        {"search": {"descent": summary(0.3), "random": summary(0.05), "rank": summary(0.1)}}
    )
    (row,) = [line for line in lines if line.startswith("| Does `descent`")]
    assert "21 wrong questions with a placebo, of 40" in row and "genuine 0.300 (0.100–0.500)" in row
    assert "| genuine 0.050 (−0.150–0.250) |" in row and "runner-up in one try: 0.100" in row


def test_a_row_without_its_figures_is_left_out_with_the_reason():
    lines = headline_lines({"search": {"descent": summary(None), "mcts": summary(0.2)}})
    assert any(line.startswith("| Does `mcts`") for line in lines)
    assert not any(line.startswith("| Does `descent`") for line in lines)
    assert any(line.startswith("- a row left out:") and "descent/placebo" in line for line in lines)
