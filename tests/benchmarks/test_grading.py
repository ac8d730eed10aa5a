import pytest

from benchmarks.grading import (
    cut_at_stop,
    exact_match,
    extract_answer,
    extract_first,
    extract_flexible,
    extract_strict,
    first_number_settled,
    math_verify_match,
    normalize_number,
)


@pytest.mark.parametrize(
    ("text", "strict", "flexible"),
    [
        ("She earns 9 * 2 = 18 dollars.\n#### 18", "18", "18"),
        ("The total is $1,234.\n#### 1,234", "1234", "1234"),
        ("Loss of 4.\n#### -4", "-4", "-4"),
        ("It costs $2.50 per item so 5 items cost $12.50.", None, "12.50"),
        ("He runs 3 km then 5 km, so 8 km in total.", None, "8"),
        ("No number here at all.", None, None),
        ("#### 42\nThen some text 7", "42", "7"),
    ],
)
def test_strict_and_flexible_extraction(text, strict, flexible):
    assert extract_strict(text) == strict
    assert extract_flexible(text) == flexible


def test_cot_prefers_strict_then_falls_back_to_last_number():
    assert extract_answer("5 + 5 = 10\n#### 10 and 3 more", mode="cot") == "10"
    assert extract_answer("5 + 5 = 10, answer 10 apples", mode="cot") == "10"


def test_direct_takes_the_first_number():
    assert extract_first("18 dollars. Because 16 - 3 - 4 = 9") == "18"
    assert extract_answer("-7 degrees", mode="direct") == "-7"
    assert extract_answer("$1,000", mode="direct") == "1000"
    assert extract_answer("nothing", mode="direct") is None


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown GSM8K mode 'fewshot'"):
        extract_answer("1", mode="fewshot")


@pytest.mark.parametrize(
    ("raw", "normalized"), [("$1,234.", "1234"), ("-3", "-3"), ("0.50", "0.50"), ("$", None), (",.", None)]
)
def test_normalize_number(raw, normalized):
    assert normalize_number(raw) == normalized


@pytest.mark.parametrize(
    ("prediction", "gold", "expected"),
    [
        ("18", "18", True),
        ("18.0", "18", True),
        ("18.00", "18", True),
        ("-4", "-4", True),
        ("19", "18", False),
        (None, "18", False),
    ],
)
def test_graders_agree_on_numbers(prediction, gold, expected):
    assert exact_match(prediction, gold) is expected
    assert math_verify_match(prediction, gold) is expected


def test_cut_at_stop_takes_the_earliest_stop():
    assert cut_at_stop("18\n\nQuestion: next", ("Question:", "\n\n")) == "18"
    assert cut_at_stop("no stop", ("Question:",)) == "no stop"


@pytest.mark.parametrize(
    ("text", "settled"),
    [
        ("The answer is 42", False),  # "42" may go on: 420, 42.5, 42,000
        ("The answer is 42.", False),  # 42.5
        ("The answer is 42. The", True),
        ("$1,200 dollars", True),
        ("no number yet ", False),
        (".. , 7 apples", True),  # runs of '.' and ',' without a digit are not numbers
        ("-", False),
    ],
)
def test_first_number_settled(text, settled):
    assert first_number_settled(text) is settled


@pytest.mark.parametrize("text", ["The answer is 42. The", "$1,200 dollars", ".. , 7 apples"])
@pytest.mark.parametrize("more", ["5", ".5", ",000", " 17", "-3", "\n\n9"])
def test_a_settled_first_number_survives_any_continuation(text, more):
    assert extract_first(text + more) == extract_first(text)
