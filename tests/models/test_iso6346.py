"""ISO 6346 check digit and OCR-confusion normalisation."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kakou.models.container import check_digit, format_code, is_valid, make_code, normalise


@pytest.mark.parametrize(
    ("code10", "digit"),
    [("CSQU305438", 3), ("MSKU123456", 5), ("TGHU123456", 7), ("BICU123456", 5)],
)
def test_check_digit_known_values(code10: str, digit: int) -> None:
    assert check_digit(code10) == digit
    assert is_valid(code10 + str(digit))


def test_is_valid_rejects_wrong_digit_and_shape() -> None:
    assert is_valid("CSQU 305438 3")
    assert not is_valid("CSQU3054384")
    assert not is_valid("CSQA3054383")  # category must be U, J or Z
    assert not is_valid("CSQU305438")
    assert not is_valid("")


def test_normalise_fixes_confusions_only_when_check_digit_confirms() -> None:
    assert normalise("C5QU 3O5438 [3]") == "CSQU3054383"
    assert normalise("MSKU I23456 5") == "MSKU1234565"
    assert normalise("CSQU3054384") is None  # a misread digit is never "corrected"
    assert normalise("CSQU305438") is None
    # The category slot holds U, J or Z only: a J read as I or 1 is put back when the check agrees.
    assert normalise("LSFI 016827 2") == normalise("LSF1 016827 2") == "LSFJ0168272"
    assert normalise("LSFI 016827 3") is None


def test_make_and_format() -> None:
    assert make_code("MSKU", 123456) == "MSKU1234565"
    assert format_code("MSKU1234565") == "MSKU 123456 5"


codes = st.builds(
    make_code,
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3).map(lambda s: s + "U"),
    st.integers(0, 999_999),
)


@given(codes)
def test_generated_codes_are_valid_and_normalise_to_themselves(code: str) -> None:
    assert is_valid(code)
    assert normalise(format_code(code)) == code


@given(codes, st.integers(4, 10), st.sampled_from("0123456789"))
def test_single_digit_error_is_never_accepted(code: str, pos: int, digit: str) -> None:
    bad = code[:pos] + digit + code[pos + 1 :]
    if bad != code:
        # ISO 6346 detects any single substitution except where the remainder-10 rule folds
        # 10 onto 0; such serials are flagged by the standard itself.
        assert normalise(bad) is None or check_digit(code[:10]) == 0


@given(st.text(max_size=30))
def test_normalise_never_raises(text: str) -> None:
    out = normalise(text)
    assert out is None or is_valid(out)
