"""The kakou serial frame and the payloads of the card/RFID readers and the LED display."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kakou.protocols.cardreader import (
    DuplicateFilter,
    decode_read,
    encode_card_read,
    encode_heartbeat,
    encode_tag_read,
)
from kakou.protocols.display import DisplayText, decode_show_text, encode_show_text
from kakou.protocols.frames import MAX_LEN, Frame, FrameParser, encode_frame

frames_st = st.builds(
    Frame,
    addr=st.integers(0, 255),
    cmd=st.integers(0, 255),
    data=st.binary(max_size=64),
)


def test_layout() -> None:
    raw = encode_frame(0x01, 0x10, b"\x02\x03")
    # STX, LEN=4 (addr+cmd+2), addr, cmd, data, CRC-16/CCITT-FALSE, ETX
    assert raw[:6] == bytes([0x02, 0x00, 0x04, 0x01, 0x10, 0x02]) and raw[-1] == 0x03 and len(raw) == 10
    assert encode_frame(0, 0, b"123456789"[:0])  # empty data is allowed
    with pytest.raises(ValueError):
        encode_frame(1, 1, bytes(MAX_LEN))


@settings(max_examples=200, deadline=None)
@given(frames=st.lists(frames_st, max_size=6), cuts=st.lists(st.integers(0, 500), max_size=5))
def test_round_trip_in_any_chunks(frames: list[Frame], cuts: list[int]) -> None:
    stream = b"".join(encode_frame(f.addr, f.cmd, f.data) for f in frames)
    parser = FrameParser()
    bounds = sorted(min(c, len(stream)) for c in cuts)
    out = []
    for a, b in zip([0, *bounds], [*bounds, len(stream)], strict=True):
        out += parser.feed(stream[a:b])
    assert out == frames and parser.stats.framing_errors == 0


@settings(max_examples=300, deadline=None)
@given(junk=st.binary(max_size=2000))
def test_random_bytes_never_crash_and_stay_bounded(junk: bytes) -> None:
    parser = FrameParser()
    for i in range(0, len(junk), 61):
        parser.feed(junk[i : i + 61])
        assert parser.pending <= MAX_LEN + 6
    while parser.pending:
        parser.resync()


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_corruption_never_yields_a_frame_that_was_not_sent(data: st.DataObject) -> None:
    frames = data.draw(st.lists(frames_st, min_size=1, max_size=6))
    chunks, mutated = [], []
    for f in frames:
        raw = bytearray(encode_frame(f.addr, f.cmd, f.data))
        kind = data.draw(st.sampled_from(["keep", "drop", "insert", "flip"]))
        i = data.draw(st.integers(0, len(raw) - 1))
        if kind == "drop":
            del raw[i]
        elif kind == "insert":
            raw[i:i] = data.draw(st.binary(min_size=1, max_size=20))
        elif kind == "flip":
            raw[i] ^= data.draw(st.integers(1, 255))
        chunks.append(bytes(raw))
        mutated.append(kind != "keep")
    parser = FrameParser()
    out = parser.feed(b"".join(chunks))
    while parser.pending:  # the line went quiet: abandon partial frames, as the driver's timer does
        out += parser.resync()
    it = iter(frames)
    assert all(any(o == f for f in it) for o in out)
    for f, m in zip(frames, mutated, strict=True):
        if not m:
            assert f in out


def test_card_and_tag_payloads() -> None:
    parser = FrameParser()
    stream = (
        encode_heartbeat(3)
        + encode_tag_read(bytes.fromhex("E2801160600002054C2B1A3F"), addr=3, antenna=2, rssi_dbm=-61)
        + encode_card_read(bytes.fromhex("04A1B2C3"), addr=3)
    )
    reads = [decode_read(f, 0.0) for f in parser.feed(stream)]
    assert reads[0] is None
    assert reads[1] is not None and reads[1].as_json() == {
        "kind": "rfid",
        "id": "E2801160600002054C2B1A3F",
        "addr": 3,
        "antenna": 2,
        "rssi_dbm": -61,
    }
    assert reads[2] is not None and reads[2].as_json() == {
        "kind": "card",
        "id": "04A1B2C3",
        "addr": 3,
        "card_type": "iso14443a",
    }
    with pytest.raises(ValueError):
        decode_read(Frame(1, 0x10, b"\x01\x00\x01"), 0.0)  # id too short


@settings(max_examples=200, deadline=None)
@given(frame=frames_st)
def test_decode_read_only_raises_value_error(frame: Frame) -> None:
    try:
        decode_read(frame, 0.0)
    except ValueError:
        pass


def test_duplicate_window_slides() -> None:
    dedup = DuplicateFilter(window_s=3.0)
    assert dedup.accept("A", 0.0)
    assert not dedup.accept("A", 2.0)
    assert not dedup.accept("A", 4.5)  # still in the field: the window slid with the last read
    assert dedup.accept("B", 4.6)
    assert dedup.accept("A", 8.0)  # away for more than the window: a new presence
    assert dedup.suppressed == 2


@pytest.mark.parametrize("encoding", ["gb2312", "utf-8"])
def test_display_text_round_trip(encoding: str) -> None:
    msg = DisplayText("请停车 粤B12345 过磅", line=1, color="red", encoding=encoding)  # type: ignore[arg-type]
    (frame,) = FrameParser().feed(encode_show_text(msg))
    assert decode_show_text(frame) == msg


def test_gb2312_refuses_what_it_cannot_show() -> None:
    with pytest.raises(ValueError, match="gb2312"):
        encode_show_text(DisplayText("车牌 🚚", encoding="gb2312"))
    encode_show_text(DisplayText("车牌 🚚", encoding="utf-8"))


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=100), encoding=st.sampled_from(["gb2312", "utf-8"]))
def test_display_round_trip_property(text: str, encoding: str) -> None:
    msg = DisplayText(text, encoding=encoding)  # type: ignore[arg-type]
    try:
        raw = encode_show_text(msg)
    except ValueError:
        assert encoding == "gb2312" or len(text.encode()) > MAX_LEN - 5
        return
    (frame,) = FrameParser().feed(raw)
    assert decode_show_text(frame) == msg
