"""Two small rules that decide how much verification a plate line gets (models/plate.py):
which unreadable lines are worth decoding from the recogniser's alternatives, and when a line
cut tight to its characters may settle the plate without the usual cut's second opinion."""

import pytest

from kakou.models.plate import _may_be_plate_line, _read_as_is


@pytest.mark.parametrize(
    ("text", "worth"),
    [
        ("QBD01366", True),  # a province read as a Latin letter: the alternatives may hold 粤
        ("皖O18632", True),
        ("粤AD123456", False),  # nine: not a plate's length
        ("0010912", False),  # a number on a shop front
        ("20150511", False),  # a date
        ("1皖A1234", True),  # a stray stroke before the province: the decoder may drop it
        ("来德向餐全美保", False),  # a shop sign
    ],
)
def test_only_plate_like_lines_are_decoded_from_alternatives(text: str, worth: bool) -> None:
    assert _may_be_plate_line(text) is worth


@pytest.mark.parametrize(
    ("raw", "text", "as_is"),
    [
        ("川A57237", "川A57237", True),
        ("皖O18632", "皖Q18632", True),  # one letter from the alternatives
        ("沪A1707锁", "沪A1707领", True),  # a suffix's look-alike
        ("皖O1863Z", "皖Q186372", False),  # not the same length
        ("皖O1863Z", "皖Q186322", False),  # two characters changed
        ("川C2845", "川MC2845", False),  # a character inserted: a tow hook hid a digit
        ("SA12345", "苏A12345", False),  # the province filled in from a clipped character
        ("QB12345", "粤B12345", False),
        ("粤B12345", None, False),
    ],
)
def test_a_tight_cut_settles_only_a_plate_it_read(raw: str, text: str | None, as_is: bool) -> None:
    assert _read_as_is(raw, text) is as_is
