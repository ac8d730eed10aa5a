import pytest

from cola import format_chain, full_chain, parse_chain, validate_chain
from cola.chain import parse_stored_chain


@pytest.mark.parametrize(
    ("text", "chain"),
    [
        ("0-9,9,10-29", tuple(range(10)) + (9,) + tuple(range(10, 30))),
        ("0-29", tuple(range(30))),
        ("5", (5,)),
        ("3,1,0,2", (3, 1, 0, 2)),
        ("0-2,0-2", (0, 1, 2, 0, 1, 2)),
        ("0,0,0", (0, 0, 0)),
    ],
)
def test_parse_and_format_round_trip(text, chain):
    assert parse_chain(text, 30) == chain
    assert parse_chain(format_chain(chain), 30) == chain


def test_format_merges_consecutive_layers():
    assert format_chain((0, 1, 2, 3, 9, 9, 10, 11)) == "0-3,9,9-11"
    assert format_chain(full_chain(4)) == "0-3"


def test_parse_tolerates_spaces():
    assert parse_chain(" 0-2 , 2 ", 4) == (0, 1, 2, 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty chain"),
        ("   ", "empty chain"),
        ("0-3,,4", "empty part"),
        ("0-30", "layer 30 in part '0-30' out of range for a 30-layer model"),
        ("31", "layer 31"),
        ("a-3", "malformed chain part 'a-3'"),
        ("1-2-3", "malformed chain part '1-2-3'"),
        ("-1", "malformed chain part '-1'"),
        ("5-2", "descending range '5-2'"),
    ],
)
def test_parse_rejects_bad_text_naming_the_part(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_chain(text, 30)


def test_validate_chain_errors():
    with pytest.raises(ValueError, match="empty chain"):
        validate_chain((), 4)
    with pytest.raises(ValueError, match="layer 4 \\(chain step 2\\) out of range for a 4-layer model"):
        validate_chain((0, 1, 4), 4)
    with pytest.raises(ValueError, match="layer -1"):
        validate_chain((-1,), 4)
    with pytest.raises(ValueError, match="expected an int"):
        validate_chain((0, 1.0), 4)
    with pytest.raises(ValueError, match="at least one layer"):
        full_chain(0)


def test_parse_stored_chain_reads_any_depth_and_still_rejects_malformed_text():
    assert parse_stored_chain("0-29,29") == tuple(range(30)) + (29,)
    assert parse_stored_chain("0-63") == tuple(range(64))
    with pytest.raises(ValueError, match="malformed chain part 'x'"):
        parse_stored_chain("0-3,x")
