"""The queue behind the lane's vehicle (e-plates read at the approach) and where a read text is
in a frame, for the lane screen."""

from __future__ import annotations

from datetime import UTC, datetime

from kakou.edge.lane import VehicleQueue, locate
from kakou.models.ocr import TextLine


def test_queue_keeps_first_read_order_leaves_on_entry_and_forgets_tags_no_longer_read() -> None:
    now = [0.0]
    q = VehicleQueue(ttl_s=60, clock=lambda: now[0])
    at = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    q.seen("TAG-B", "苏E88888", at)
    q.seen("TAG-C", None, at)
    q.seen("TAG-B", None, at)  # read again: keeps its place and its plate
    assert [(w["e_plate"], w["plate"]) for w in q.snapshot()] == [("TAG-B", "苏E88888"), ("TAG-C", None)]
    q.entered(None, "苏E88888")  # the camera read its plate in the lane
    assert [w["e_plate"] for w in q.snapshot()] == ["TAG-C"]
    now[0] = 61.0  # TAG-C not read for longer than the TTL: it drove off
    assert q.snapshot() == []
    q.seen("TAG-D", None, at)
    q.entered("TAG-D", None)
    assert q.snapshot() == []


def _line(text: str, x0: float, y0: float, x1: float, y1: float) -> TextLine:
    return TextLine(box=((x0, y0), (x1, y0), (x1, y1), (x0, y1)), text=text, score=0.9)


def test_locate_frames_every_line_that_is_part_of_the_text() -> None:
    lines = [
        _line("CSQU", 100, 50, 180, 80),
        _line("305438 3", 190, 50, 320, 80),
        _line("MAX GROSS", 100, 200, 300, 230),
    ]
    assert locate(lines, "CSQU3054383") == [100, 50, 320, 80]
    assert locate([_line("粤B·12345", 10, 20, 110, 50)], "粤B12345") == [10, 20, 110, 50]
    assert locate(lines, "苏E88888") is None
