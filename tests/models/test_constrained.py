"""Grammar-constrained decoding of the recogniser's per-character alternatives."""

from hypothesis import given
from hypothesis import strategies as st

from kakou.models.constrained import (
    decode_container,
    decode_other_category,
    decode_plate,
    merge_views,
    slot_steps,
)
from kakou.models.iso6346 import OTHER_CATEGORIES, char_value, is_valid, make_code
from kakou.models.plate_grammar import is_valid_plate


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


def test_a_sure_code_with_another_category_letter_is_accepted_only_as_read() -> None:
    # RWWL 456431 [7] (a leasing company's L): ISO 6346's grammar has U/J/Z only.
    code = make_code("RWWL", 456431)
    assert decode_container(certain(code)) is None
    d = decode_other_category(certain(code))
    assert d is not None and d.text == code and d.confidence >= 0.95
    # A boxed check digit read unsurely is still a sure digit once letters are ruled out.
    boxed = [*certain(code[:10]), [(code[10], 0.64), ("Z", 0.19), ("#", 0.05)]]
    assert (d := decode_other_category(boxed)) is not None and d.text == code
    # A digit read less surely is held to the lane's threshold like any code's (the caller's);
    # an owner letter is not: it must be sure.
    unsure_digit = certain(code)
    unsure_digit[6] = [(code[6], 0.84), (str((int(code[6]) + 1) % 10), 0.16)]
    assert (d := decode_other_category(unsure_digit)) is not None and d.text == code and 0.8 < d.confidence < 0.9
    unsure_owner = certain(code)
    unsure_owner[1] = [("W", 0.84), ("V", 0.16)]
    assert decode_other_category(unsure_owner) is None
    # Nothing is chosen among alternatives: a character read as something else is no code.
    doubt = certain(code)
    doubt[5] = [("B", 0.6), (code[5], 0.4)]
    assert decode_other_category(doubt) is None
    # An unsure category letter, or one with U/J/Z among its alternatives, may be a misread.
    unsure = certain(code)
    unsure[3] = [("L", 0.9), ("I", 0.1)]
    assert decode_other_category(unsure) is None
    near_u = certain(code)
    near_u[3] = [("L", 0.96), ("U", 0.03)]
    assert decode_other_category(near_u) is None
    # The check digit still decides.
    assert decode_other_category(certain(code[:10] + str((int(code[10]) + 1) % 10))) is None


def test_a_category_letter_the_check_digit_cannot_tell_from_u_j_or_z_is_never_accepted() -> None:
    # K's value differs from U's by 11: a U read as K leaves the check digit agreeing.
    for letter in "AKTFP":
        assert letter not in OTHER_CATEGORIES
        assert any((char_value(letter) - char_value(k)) % 11 == 0 for k in "UJZ")
    misread = "MSK" + "K" + make_code("MSKU", 123456)[4:]
    assert is_valid(misread.replace("MSKK", "MSKU"))
    assert decode_other_category(certain(misread)) is None
    # A code with a U/J/Z category is the main grammar's, not this one's.
    assert decode_other_category(certain(make_code("MSKU", 123456))) is None


def test_wrong_length_is_no_code() -> None:
    assert decode_container(certain("MSKU12345")) is None
    assert decode_container(certain("MSKU12345651")) is None
    assert decode_container([]) is None


@given(st.lists(st.lists(st.tuples(st.text(max_size=2), st.floats(0, 1)), max_size=6), max_size=14))
def test_fuzz_never_raises_and_only_returns_valid_codes(steps: list[list[tuple[str, float]]]) -> None:
    d = decode_container(steps)
    assert d is None or (is_valid(d.text) and 0.0 <= d.confidence <= 1.0 and 0.0 <= d.margin <= 1.0)


def test_plate_province_comes_from_the_recogniser_alternatives() -> None:
    # The best guess for the first character is not a province; its alternative is.
    steps = [[("Q", 0.6), ("粤", 0.35)], *certain("BD01366")]
    d = decode_plate(steps)
    assert d is not None and d.text == "粤BD01366"
    assert d.confidence > 0.8  # Q cannot stand in the province slot


def test_plate_character_in_doubt_gives_low_confidence() -> None:
    # 皖A2T582: T at 0.45 beside 1 at 0.40, both legal in the serial: the officer decides.
    steps = [*certain("皖A2"), [("T", 0.45), ("1", 0.40)], *certain("582")]
    d = decode_plate(steps)
    assert d is not None and d.text == "皖A2T582"
    assert d.confidence < 0.6 and d.margin < 0.2


def test_plate_grammar_is_applied_to_the_whole_string() -> None:
    # An 8-character plate must be new-energy: D/A-K after the letter, or 5 digits then D/A-K.
    steps = [*certain("沪A"), [("0", 0.6), ("D", 0.4)], *certain("12345")]
    d = decode_plate(steps)
    assert d is not None and d.text == "沪AD12345"
    assert decode_plate(certain("沪A12")) is None


def test_views_are_averaged_where_they_agree_on_the_length() -> None:
    a = [*certain("皖A2"), [("1", 0.7), ("T", 0.3)], *certain("582")]
    b = [*certain("皖A2"), [("T", 0.9), ("1", 0.1)], *certain("582")]
    c = certain("皖A25")  # a view that lost characters does not vote
    merged = merge_views([a, b, c])
    assert len(merged) == 7
    d = decode_plate(merged)
    assert d is not None and d.text == "皖A2T582"


@given(st.lists(st.lists(st.tuples(st.text(max_size=2), st.floats(0, 1)), max_size=6), max_size=10))
def test_plate_fuzz_never_raises_and_only_returns_valid_plates(steps: list[list[tuple[str, float]]]) -> None:
    d = decode_plate(steps)
    assert d is None or (is_valid_plate(d.text) and 0.0 <= d.confidence <= 1.0)


def test_a_door_bar_after_the_owner_code_is_not_a_character() -> None:
    # TGBU|708333 [7]: the bar between owner code and serial came back as a 1 (a real gate camera).
    code = make_code("TGBU", 708333)
    d = decode_container([*certain("TGBU"), [("1", 0.67), ("7", 0.22)], *certain(code[4:])])
    assert d is not None and d.text == code
    # A 1 that belongs to the serial is still read as one.
    code1 = make_code("TGBU", 170833)
    d1 = decode_container(certain(code1))
    assert d1 is not None and d1.text == code1
    # Only after four letters ending in the category: elsewhere twelve steps are no code.
    assert decode_container(certain("TGB1U" + code[4:])) is None


def test_a_slot_the_recogniser_filled_with_something_else_is_not_made_sure_by_the_grammar() -> None:
    # Seen on a tilted plate: the province came back as B; 皖 was a distant alternative. The
    # grammar needs a province, but nothing says which: renormalising alone made it 1.0.
    steps = [[("B", 0.33), ("M", 0.08), ("防", 0.07), ("皖", 0.03)], *certain("E12345")]
    d = decode_plate(steps)
    assert d is not None and d.text == "皖E12345" and d.score < 0.5
    # Where the allowed characters had real mass, the grammar still settles the doubt.
    steps[0] = [("苏", 0.49), ("B", 0.19), ("防", 0.11)]
    d = decode_plate(steps)
    assert d is not None and d.text == "苏E12345" and d.score > 0.9


def test_a_suffix_read_as_another_chinese_character_is_not_made_a_digit() -> None:
    # 沪A1707领 compressed: the suffix came back as 号 with 0 among its alternatives. The step
    # saw a Chinese glyph; the 0 is a guess, and 沪A17070 must not be reported sure.
    steps = [*certain("沪A1707"), [("号", 0.35), ("费", 0.11), ("0", 0.08), ("8", 0.06)]]
    d = decode_plate(steps)
    assert d is None or d.score < 0.5
    # The suffix read as itself stays sure, and a digit step with a stray Chinese alternative
    # is still the digit.
    assert (d := decode_plate(certain("沪A1707领"))) is not None and d.text == "沪A1707领" and d.score > 0.9
    steps[-1] = [("0", 0.6), ("号", 0.2)]
    assert (d := decode_plate(steps)) is not None and d.text == "沪A17070" and d.score > 0.9
