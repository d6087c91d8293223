"""Plate grammar and OCR-text normalisation."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kakou.models.plate import normalise_plate, plate_kind_of
from kakou.models.plate_grammar import EXAMPLE_LATIN_PATTERNS, PROVINCES, is_valid_plate, letter_slot, province_of


@pytest.mark.parametrize(
    ("raw", "plate"),
    [
        ("粤B·12345", "粤B12345"),
        ("京 A 8F3K2", "京A8F3K2"),
        ("沪A·D12345", "沪AD12345"),  # new energy, small car
        ("苏E12345D", "苏E12345D"),  # new energy, large vehicle
        ("粵B12345", "粤B12345"),  # traditional province form
        ("粤8·12345", "粤B12345"),  # digit in the letter slot: grammar forces B
        ("粤BO234I", "粤B02341"),  # O and I are never issued after the city letter
        ("鲁Q1234挂", "鲁Q1234挂"),
        ("粤O·A9112", "粤OA9112"),  # O is a city code (public security), never a serial letter
        ("渝」65636", "渝J65636"),  # a lone J beside a province character comes back as 」
    ],
)
def test_normalise(raw: str, plate: str) -> None:
    assert normalise_plate(raw) == plate


@pytest.mark.parametrize(
    "raw",
    # "粤0A9112": a 0 in the letter slot may be D or O, so the grammar leaves a choice: no read.
    ["", "B12345", "粤B1234", "粤B123456789", "ABCDEFG", "粤BI2345X", "AB 1234", "粤0A9112"],
)
def test_rejects_non_plates(raw: str) -> None:
    assert normalise_plate(raw) is None


def test_kinds_and_latin_patterns_are_configurable() -> None:
    assert plate_kind_of("粤B12345") == "standard"
    assert plate_kind_of("沪AD12345") == "new_energy"
    assert plate_kind_of("鲁Q1234挂") == "trailer"
    # Foreign plates only where the site configures them: "AA0787" may be 川AA0787 missing its province.
    assert plate_kind_of("AB1234") is None
    assert normalise_plate("AA0787") is None
    assert plate_kind_of("AB1234", EXAMPLE_LATIN_PATTERNS) == "latin"
    assert plate_kind_of("nonsense") is None
    assert normalise_plate("M1234XYZ") is None
    assert normalise_plate("M1234XYZ", latin_patterns=[r"M\d{4}[A-Z]{3}"]) == "M1234XYZ"


letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
plates = st.builds(
    lambda p, c, body: p + c + body,
    st.sampled_from(PROVINCES),
    st.sampled_from(letters),
    st.text(letters + "0123456789", min_size=5, max_size=5),
)


@given(plates, st.sampled_from(["", "·", " ", "-"]))
def test_valid_plates_survive_separators(plate: str, sep: str) -> None:
    assert is_valid_plate(plate)
    assert normalise_plate(plate[:2] + sep + plate[2:]) == plate


@given(st.text(max_size=12))
def test_normalise_never_raises_and_only_returns_valid(text: str) -> None:
    out = normalise_plate(text)
    assert out is None or is_valid_plate(out)


def test_slot_readings() -> None:
    assert [letter_slot(c) for c in "J」丁了』8ＢO"] == ["J", "J", "J", "J", "J", "B", "B", "O"]
    assert letter_slot("0") is None  # D or O: both are issued, the grammar cannot choose
    assert letter_slot("I") is None and letter_slot("渝") is None  # I is never issued
    assert province_of("粵") == "粤" and province_of("渝") == "渝" and province_of("A") is None


def test_plate_length_must_fit_the_paint_it_was_read_on() -> None:
    from kakou.models.plate import colour_agrees

    assert colour_agrees("green", "沪AD12345") and not colour_agrees("green", "沪A12345")
    assert colour_agrees("blue", "粤B12345") and not colour_agrees("blue", "沪AD12345")
    assert colour_agrees("yellow", "苏E12345D") and colour_agrees("yellow", "京A8F3K2")  # yellow-green too
    assert colour_agrees("texture", "粤B12345") and colour_agrees("green", None)
