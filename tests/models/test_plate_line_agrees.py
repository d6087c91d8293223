"""A valid plate reading checked against the line's first reading: where two readings of one
line name different characters, the plate network must read the verified one, else the
officer decides (a wrong read reported valid is worse than no read)."""

import pytest

from kakou.models.plate import PlateRead, PlateReader, _differs_at
from kakou.sim.render_plates import plate_crop


def _valid(text: str) -> PlateRead:
    return PlateRead(text=text, confidence=0.85, valid=True, raw=text, kind="standard")


@pytest.mark.parametrize(
    ("line", "text", "at"),
    [
        ("粤BE609T", "粤BE609T", []),
        ("粤BE6097", "粤BE6091", [6]),  # 7 and 1: two digits
        ("电BE6097", "粤BE6091", [6]),  # 电 is no province: the line did not name one
        ("鄂BA103N", "粤BA103N", [0]),  # two provinces
        ("粤DE609T", "粤BE609T", [1]),  # two city letters
        ("粤8E609T", "粤BE609T", []),  # an 8 in the letter slot is the grammar's B
        ("粤BE6O9T", "粤BE609T", []),  # O and 0 are one character in the serial
        ("粤BI609T", "粤B1609T", []),  # ... and so are I and 1
        ("粤BE609", "粤BE609T", []),  # a line read short is not compared
        ("粤BD01366", "粤BD01368", [7]),  # eight-character plates alike
    ],
)
def test_the_characters_two_readings_disagree_on(line: str, text: str, at: list[int]) -> None:
    assert _differs_at(line, text) == at


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return PlateReader()


def test_a_serial_character_only_the_decoded_reading_has_goes_to_the_officer(reader: PlateReader) -> None:
    crop = plate_crop("粤BE609T", "blue", (240, 70))
    r = reader._line_agrees(crop, "粤B·E6097", _valid("粤BE6091"))
    assert not r.valid and r.text is None and r.confidence <= 0.5


def test_a_character_the_plate_network_backs_stands(reader: PlateReader) -> None:
    crop = plate_crop("粤BE609T", "blue", (240, 70))
    assert reader._line_agrees(crop, "粤B·E6097", _valid("粤BE609T")) == _valid("粤BE609T")


def test_a_province_the_line_named_otherwise_is_held_back_unless_the_network_reads_it(reader: PlateReader) -> None:
    crop = plate_crop("粤BA103N", "blue", (240, 70))
    assert not reader._line_agrees(crop, "粤BA103N", _valid("鄂BA103N")).valid
    assert reader._line_agrees(crop, "鄂BA103N", _valid("粤BA103N")).valid


def test_readings_that_agree_are_not_put_to_the_network(reader: PlateReader, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network() -> None:
        raise AssertionError("the network was asked")

    monkeypatch.setattr("kakou.models.plate.shared_plate_net", no_network)
    r = _valid("粤BE609T")
    assert reader._line_agrees(plate_crop("粤BE609T"), "粤B·E609T", r) is r
