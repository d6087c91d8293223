"""Grammar-constrained decoding of the recogniser's per-character alternatives."""

from hypothesis import given
from hypothesis import strategies as st

from kakou.models.constrained import decode_container, slot_steps
from kakou.models.iso6346 import is_valid, make_code


def certain(text: str) -> list[list[tuple[str, float]]]:
    return [[(ch, 0.99), ("#", 0.01)] for ch in text]


def test_a_doubtful_digit_is_taken_from_the_alternatives_the_check_digit_allows() -> None:
    # DACU 253299 [7]: the boxed 7 came back as 7 at 0.47 beside Z at 0.08 (seen on a real door).
    steps = [*certain("DACU253299"), [("7", 0.47), ("Z", 0.08), ("1", 0.01)]]
    d = decode_container(steps)
    assert d is not None and d.text == "DACU2532997"
    assert d.confidence > 0.8  # Z cannot stand in a digit slot: the 7 is all that is left


def test_an_unlikely_alternative_that_fits_the_check_digit_gives_low_confidence() -> None:
    code = make_code("TTNU", 929306)
    # Second letter read as I at 0.9; T only at 0.05: the check digit prefers T, the
    # confidence says how little the recogniser believed it, so the officer decides.
    steps = certain(code)
    steps[1] = [("I", 0.90), ("T", 0.05), ("1", 0.04)]
    d = decode_container(steps)
    assert d is not None and d.text == code
    assert d.confidence < 0.1


def test_no_code_without_a_matching_check_digit() -> None:
    code = make_code("MSKU", 123456)
    wrong = code[:10] + str((int(code[10]) + 1) % 10)
    assert decode_container(certain(wrong)) is None


def test_separators_and_box_outlines_are_not_slots() -> None:
    steps = [*certain("MSKU"), [(" ", 0.7), ("1", 0.1)], *certain("123456"), [("[", 0.9)], *certain("5")]
    assert len(slot_steps(steps)) == 11
    d = decode_container(steps)
    assert d is not None and d.text == "MSKU1234565"


def test_wrong_length_is_no_code() -> None:
    assert decode_container(certain("MSKU12345")) is None
    assert decode_container(certain("MSKU12345651")) is None
    assert decode_container([]) is None


@given(st.lists(st.lists(st.tuples(st.text(max_size=2), st.floats(0, 1)), max_size=6), max_size=14))
def test_fuzz_never_raises_and_only_returns_valid_codes(steps: list[list[tuple[str, float]]]) -> None:
    d = decode_container(steps)
    assert d is None or (is_valid(d.text) and 0.0 <= d.confidence <= 1.0 and 0.0 <= d.margin <= 1.0)
