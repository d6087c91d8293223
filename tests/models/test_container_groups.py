"""Which detected lines the container reader takes together as one code."""

from kakou.models.container import code_groups
from kakou.models.ocr import TextLine


def line(text: str, *corners: tuple[float, float]) -> TextLine:
    return TextLine(tuple(corners), text, 0.99)


def test_a_sheared_row_stays_one_group_although_the_upright_boxes_overlap() -> None:
    # The detector's boxes on a gate camera above and beside the door: the row slopes and leans,
    # the upright extents overlap by 35 px, yet the serial starts where the owner code ends.
    owner = line("TGBU1", (482, 258), (576, 286), (563, 329), (469, 301))
    serial = line("708333", (555, 283), (653, 315), (639, 356), (541, 325))
    assert [owner, serial] in code_groups([owner, serial])


def test_lines_on_top_of_each_other_in_one_row_are_not_a_code() -> None:
    owner = line("TGBU", (482, 258), (576, 286), (563, 329), (469, 301))
    # Starts inside the first line: a second box over the same text, not its continuation.
    inside = line("708333", (500, 266), (598, 298), (584, 339), (486, 307))
    assert [owner, inside] not in code_groups([owner, inside])
