"""The plate-specific recogniser (HyperLPR's network from the installed `hyperlpr` wheel) as the
plate crop reader's second opinion: it settles what PP-OCR left open only among the plates
PP-OCR itself read, holds back a reading it contradicts, and is never needed to read a plate."""

import logging

import numpy as np
import pytest

from kakou.models import plate as plate_module
from kakou.models import plate_net
from kakou.models.ocr import TextLine
from kakou.models.plate import PlateRead, PlateReader
from kakou.sim.render import render_plate_scene
from kakou.sim.render_plates import plate_crop


@pytest.mark.parametrize("text", ["皖A2T582", "粤B8D0T5", "苏E5F702"])
def test_the_installed_network_reads_a_plates_body_surely(text: str) -> None:
    assert plate_net.model_files() is not None, "the hyperlpr wheel is missing: run make setup"
    net = plate_net.shared_plate_net()
    assert net is not None
    chars = net.read(plate_crop(text))
    assert "".join(c for c, _ in chars[1:]) == text[1:]
    assert min(p for _, p in chars[1:]) >= plate_module.NET_SURE


class _Net:
    """The network's opinion fixed, to test the rule that weighs it."""

    def __init__(self, text: str, body_p: float = 0.97, province_p: float = 0.5) -> None:
        self.chars = [(text[0], province_p)] + [(c, body_p) for c in text[1:]]

    def read(self, _crop: np.ndarray) -> list[tuple[str, float]]:
        return self.chars


@pytest.fixture
def opinion(monkeypatch: pytest.MonkeyPatch):
    def use(net: _Net | None) -> PlateReader:
        monkeypatch.setattr(plate_module, "shared_plate_net", lambda: net)
        return PlateReader()

    return use


UNSURE = PlateRead(text=None, confidence=0.5, valid=False, raw="浙D·3350Z", overruled=True)


def test_it_settles_an_open_reading_among_the_plates_pp_ocr_read(opinion) -> None:
    r = opinion(_Net("浙D335DZ"))._net_opinion(plate_crop("浙D335DZ"), UNSURE, {"浙D335DZ", "浙D3350Z"})
    assert (r.text, r.valid) == ("浙D335DZ", True)
    assert r.confidence >= 0.9


def test_on_a_crop_it_reads_no_character_that_is_not_pp_ocrs_or_its_look_alike(opinion) -> None:
    """PP-OCR sees the plate font's D as 0 on a small crop; the network draws them apart. An 8
    is not a D, and the network never names the province. On a scene's line (no `lookalikes`)
    only PP-OCR's own plates: there the network reads a glare-lit 6 as G."""
    net, crop = _Net("浙D335DZ"), plate_crop("浙D335DZ")
    r = opinion(net)._net_opinion(crop, UNSURE, {"浙D3350Z"}, lookalikes=True)
    assert (r.text, r.valid) == ("浙D335DZ", True)
    assert not opinion(net)._net_opinion(crop, UNSURE, {"浙D3350Z"}).valid
    assert not opinion(net)._net_opinion(crop, UNSURE, {"浙D3358Z"}, lookalikes=True).valid
    assert not opinion(net)._net_opinion(crop, UNSURE, {"D3350Z"}, lookalikes=True).valid
    assert not opinion(_Net("浙D3DSDZ"))._net_opinion(crop, UNSURE, {"浙D3050Z"}, lookalikes=True).valid


def test_an_unsure_opinion_or_a_sure_other_province_settles_nothing(opinion) -> None:
    doubts = {"浙D335DZ", "浙D3350Z"}
    assert not opinion(_Net("浙D335DZ", body_p=0.85))._net_opinion(plate_crop("浙D335DZ"), UNSURE, doubts).valid
    assert not opinion(_Net("苏D335DZ", province_p=0.95))._net_opinion(plate_crop("浙D335DZ"), UNSURE, doubts).valid


def test_two_plates_with_the_body_it_read_settle_nothing(opinion) -> None:
    doubts = {"浙D335DZ", "苏D335DZ"}
    assert not opinion(_Net("浙D335DZ"))._net_opinion(plate_crop("浙D335DZ"), UNSURE, doubts).valid


def test_a_valid_reading_it_contradicts_surely_is_held_back_or_read_as_its_look_alike(opinion) -> None:
    """A sure T where PP-OCR read 1 is the plate; a sure K is no 1 seen whole: the officer decides."""
    read = PlateRead(text="皖A21582", confidence=0.95, valid=True, raw="皖A21582", kind="standard")
    t = opinion(_Net("皖A2T582"))._net_opinion(plate_crop("皖A2T582"), read, set(), lookalikes=True)
    assert (t.text, t.valid, t.raw) == ("皖A2T582", True, "皖A21582")
    held = opinion(_Net("皖A2K582"))._net_opinion(plate_crop("皖A2K582"), read, set(), lookalikes=True)
    assert (held.text, held.valid, held.raw) == (None, False, "皖A21582")
    assert opinion(_Net("皖A2T582", body_p=0.75))._net_opinion(plate_crop("皖A2T582"), read, set()) == read
    assert opinion(_Net("皖A21582"))._net_opinion(plate_crop("皖A21582"), read, set()) == read


def test_a_site_latin_plate_is_left_to_pp_ocr(opinion) -> None:
    read = PlateRead(text="AX1790", confidence=0.95, valid=True, raw="AX1790", kind="latin")
    assert opinion(_Net("皖AX1790"))._net_opinion(plate_crop("皖A2T582"), read, set()) == read


@pytest.mark.parametrize("text", ["皖A2T582", "粤B8D0T5"])
def test_crops_read_alike_with_and_without_the_network(opinion, text: str) -> None:
    assert opinion(None).read(plate_crop(text)).text == text
    assert PlateReader().read(plate_crop(text)).text == text


def test_without_the_package_the_reader_says_so_and_goes_on(monkeypatch, caplog) -> None:
    monkeypatch.setattr(plate_net, "model_files", lambda: None)
    with caplog.at_level(logging.WARNING, logger=plate_net.__name__):
        assert plate_net._load() is None
    assert "hyperlpr" in caplog.text


def test_a_damaged_model_file_is_reported_not_raised(monkeypatch, tmp_path, caplog) -> None:
    files = plate_net.model_files()
    assert files is not None
    bad = tmp_path / "bad.caffemodel"
    bad.write_bytes(files[1].read_bytes()[:1000])
    monkeypatch.setattr(plate_net, "model_files", lambda: (files[0], bad))
    with caplog.at_level(logging.WARNING, logger=plate_net.__name__):
        assert plate_net._load() is None
    assert "not usable" in caplog.text


def _scene_line(text: str) -> tuple[np.ndarray, TextLine]:
    """A plate on a grey ground, and the line box the detector would give for it."""
    plate = plate_crop(text, "blue", (220, 70))
    frame = np.full((200, 400, 3), 110, np.uint8)
    frame[60:130, 90:310] = plate
    box = ((92.0, 68.0), (308.0, 68.0), (308.0, 122.0), (92.0, 122.0))
    return frame, TextLine(box, text, 0.9)


@pytest.mark.parametrize(
    ("raw", "settled"),
    [("粤B8D0T5", "粤B8D0T5"), ("粤B·8D0T5", "粤B8D0T5"), ("粤B8DOT5", None)],
)
def test_a_scene_line_read_as_it_is_but_unsure_is_settled_by_the_network(
    opinion, monkeypatch: pytest.MonkeyPatch, raw: str, settled: str | None
) -> None:
    """Only a line PP-OCR read as a plate as it is (no O taken for 0): both recognisers then
    read the same plate."""
    reader = opinion(_Net("粤B8D0T5"))
    unsure = PlateRead(text=None, confidence=0.6, valid=False, raw=raw)
    monkeypatch.setattr(reader, "_verified", lambda *_a, **_k: unsure)
    frame, line = _scene_line("粤B8D0T5")
    r = reader._line_verified(frame, line)
    assert r is not None
    assert (r.text, r.valid) == (settled, settled is not None)


def _net_reading(chars: str, probs: list[float]) -> _Net:
    net = _Net(chars)
    net.chars = list(zip(chars, probs, strict=True))
    return net


def test_a_digit_the_network_reads_as_a_letter_holds_a_crop_back(opinion) -> None:
    """Even where the network's body is not sure: PP-OCR sees the plate font's T as 1, the
    network draws them apart. The other way round (a letter it reads as a digit) is its own slip."""
    read = PlateRead(text="皖AK6631", confidence=0.93, valid=True, raw="皖AK6631", kind="standard")
    t_for_1 = _net_reading("渝AK663T", [0.65, 0.97, 0.96, 0.97, 0.6, 0.98, 0.81])
    assert not opinion(t_for_1)._net_opinion(plate_crop("皖AK663T"), read, set()).valid
    t_unsure = _net_reading("渝AK663T", [0.65, 0.97, 0.96, 0.97, 0.6, 0.98, 0.7])
    assert opinion(t_unsure)._net_opinion(plate_crop("皖AK663T"), read, set()) == read
    letter = PlateRead(text="皖AK663T", confidence=0.93, valid=True, raw="皖AK663T", kind="standard")
    one_for_t = _net_reading("渝AK6631", [0.65, 0.97, 0.96, 0.97, 0.6, 0.98, 0.95])
    assert opinion(one_for_t)._net_opinion(plate_crop("皖AK663T"), letter, set()) == letter


@pytest.mark.parametrize("net", ["粤B8D016", "粤B8D0T5"])
def test_a_valid_scene_line_is_never_held_back_by_the_network(
    opinion, monkeypatch: pytest.MonkeyPatch, net: str
) -> None:
    """Neither by its sure body nor by a letter where the line has a digit (as a crop would be):
    a scene's line is not the crop it learnt on."""
    reader = opinion(_Net(net))
    read = PlateRead(text="粤B8D015", confidence=0.95, valid=True, raw="粤B8D015", kind="standard")
    monkeypatch.setattr(reader, "_verified", lambda *_a, **_k: read)
    frame, line = _scene_line("粤B8D0T5")
    r = reader._line_verified(frame, line)
    assert r is not None and (r.text, r.valid) == ("粤B8D015", True)


def test_a_settled_reading_still_meets_the_sites_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plate_module, "shared_plate_net", lambda: _Net("浙D335DZ", body_p=0.93))
    strict = PlateReader(threshold=0.95)
    assert not strict._net_opinion(plate_crop("浙D335DZ"), UNSURE, {"浙D335DZ"}).valid


@pytest.mark.parametrize(
    ("read_as", "net", "p", "held"),
    [
        ("鄂", "粤", 0.4, True),
        ("鄂", "粤", 0.2, True),
        ("鄂", "云", 0.9, True),
        ("鄂", "鄂", 0.9, False),
        ("鄂", "鄂", 0.2, False),
        ("粤", "鄂", 0.4, True),
        ("粤", "鄂", 0.2, False),
        ("粤", "云", 0.9, False),
    ],
)
def test_a_valid_line_whose_province_the_network_reads_as_its_look_alike_goes_to_the_officer(
    opinion, monkeypatch: pytest.MonkeyPatch, read_as: str, net: str, p: float, held: bool
) -> None:
    """PP-OCR takes a small or compressed 粤 for 鄂 (they share their lower half) and is sure of
    it; the plate network draws the two apart. PP-OCR errs that way, so its 鄂 stands only where
    the network reads 鄂 too; its 粤 only where the network does not read 鄂 at 0.3. The network's
    other provinces are not trusted: 云 holds no 粤 back."""
    text = read_as + "A82349"
    reader = opinion(_Net(net + "A82349", province_p=p))
    read = PlateRead(text=text, confidence=0.95, valid=True, raw=text, kind="standard")
    monkeypatch.setattr(reader, "_verified", lambda *_a, **_k: read)
    frame, line = _scene_line("粤A82349")
    r = reader._line_verified(frame, line)
    assert r is not None and (r.valid, r.text) == ((False, None) if held else (True, text))


def test_a_crop_whose_province_the_network_reads_as_its_look_alike_goes_to_the_officer(opinion) -> None:
    read = PlateRead(text="粤A82349", confidence=0.95, valid=True, raw="粤A82349", kind="standard")
    assert not opinion(_Net("鄂A82349", province_p=0.4))._net_opinion(plate_crop("鄂A82349"), read, set()).valid
    assert opinion(_Net("粤A82349", province_p=0.4))._net_opinion(plate_crop("粤A82349"), read, set()) == read


@pytest.mark.parametrize(("text", "kind", "seed"), [("鄂A82349", "blue", 3), ("鄂B6628Z", "yellow", 9)])
def test_a_clear_plate_of_either_look_alike_province_still_reads(text: str, kind: str, seed: int) -> None:
    """The real network reads a clear 鄂 as 鄂: the look-alike check holds back only what it
    reads otherwise."""
    reader = PlateReader()
    for image in (render_plate_scene(text, kind, seed=seed), plate_crop(text, kind)):
        r = reader.read(image)
        assert (r.text, r.valid) == (text, True)
    r = reader.read(render_plate_scene("粤" + text[1:], kind, seed=seed))
    assert (r.text, r.valid) == ("粤" + text[1:], True)


@pytest.mark.parametrize(
    ("net", "probs", "held"),
    [
        ("川M62845", [0.5, 0.97, 0.9, 0.97, 0.97, 0.97, 0.97], True),  # a digit for the C, the rest alike
        ("陕M62845", [0.9, 0.97, 0.9, 0.97, 0.97, 0.97, 0.97], True),  # its province is not compared
        ("川M62845", [0.5, 0.97, 0.6, 0.97, 0.97, 0.97, 0.97], False),  # ... but unsure of it
        ("川M628A5", [0.5, 0.97, 0.9, 0.97, 0.97, 0.97, 0.97], False),  # it reads more otherwise
        ("川MC2845", [0.5, 0.97, 0.9, 0.97, 0.97, 0.97, 0.97], False),  # it reads the C too
    ],
)
def test_a_serial_letter_the_network_reads_as_a_digit_sends_a_scene_line_to_the_officer(
    opinion, monkeypatch: pytest.MonkeyPatch, net: str, probs: list[float], held: bool
) -> None:
    """PP-OCR reads a digit it sees only in part (a tow hook over a 6) as the letter its visible
    strokes make, sure of it; the network reads digits well. Held, the network's plate stays a
    rival, so that another cut of the line cannot settle on the letter."""
    reader = opinion(_net_reading(net, probs))
    read = PlateRead(text="川MC2845", confidence=1.0, valid=True, raw="川MC2845", kind="standard")
    monkeypatch.setattr(reader, "_verified", lambda *_a, **_k: read)
    frame, line = _scene_line("川M62845")
    r = reader._line_verified(frame, line)
    assert r is not None and (r.valid, r.text) == ((False, None) if held else (True, "川MC2845"))
    assert r.rivals == ((("川M62845", 1.0),) if held else ())


@pytest.mark.parametrize(
    ("text", "net"), [("甘GAQ980", "甘GA0980"), ("桂MFJ307", "桂MF1307"), ("粤BDB720", "粤BD8720")]
)
def test_a_serial_letter_that_looks_like_the_digit_the_network_reads_stands(
    opinion, monkeypatch: pytest.MonkeyPatch, text: str, net: str
) -> None:
    """Q and 0, J and 1, B and 8 look alike whole: there the network is as likely as PP-OCR to be
    the one mistaken (it reads a rendered Q as 0, a blurred B as 8)."""
    reader = opinion(_Net(net, body_p=0.95))
    read = PlateRead(text=text, confidence=1.0, valid=True, raw=text, kind="standard")
    monkeypatch.setattr(reader, "_verified", lambda *_a, **_k: read)
    frame, line = _scene_line(text)
    r = reader._line_verified(frame, line)
    assert r is not None and (r.valid, r.text) == (True, text)
