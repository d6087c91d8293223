"""Licence-plate reading: find the plate's text in a frame, recognise it, check the grammar."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

import cv2
import numpy as np
from pydantic import Field

from kakou.models.checkbox import line_crop
from kakou.models.constrained import (
    EVIDENCE,
    PROVINCE_EVIDENCE,
    Decoded,
    Step,
    decode_plate,
    is_cjk,
    merge_views,
    slot_steps,
    top_text,
)
from kakou.models.imageio import (
    ImageError,
    as_frame,
    deblurred,
    enlarged,
    equalise_light,
    is_blank,
    light_span,
    motion_blur,
    stretched_within,
    turned,
    unveiled,
    with_gamma,
)
from kakou.models.locate import PLATE_COLOURS, WORK_WIDTH, Region, plate_regions
from kakou.models.ocr import OcrEngine, TextLine, shared_engine
from kakou.models.plate_grammar import (
    DEFAULT_LATIN_PATTERNS,
    body_slot,
    clean,
    is_valid_plate,
    letter_slot,
    normalise_plate,
    plate_kind_of,
    province_of,
)
from kakou.models.plate_net import shared_plate_net
from kakou.models.reading import Read, candidates, row_groups, vote
from kakou.models.shadow import SEARCH_FROM, ShadowEdge, shadow_edge, unshadowed

__all__ = ["PlateRead", "PlateReader", "is_valid_plate", "normalise_plate", "plate_kind_of"]

DEFAULT_THRESHOLD = 0.80
WIDEN = float(os.environ.get("KAKOU_PLATE_WIDEN", "0.7"))  # line-heights added at each end on a retry
# Plate lines are recognised 1.5x wider than cut: the tail of a Q (and the corners of S vs 5)
# span more recogniser steps; at 1x a bold Q came out as 0 at 0.55 vs 0.44.
STRETCH = float(os.environ.get("KAKOU_PLATE_STRETCH", "1.5"))
# A plate line is verified as three views (its width as cut, 1.5x and 2x) whose per-character
# alternatives are averaged: on the field crops this kept 129 of 133 right at 0.80 with no
# wrong read above it, where the plain reading's mean score passed two wrong ones.
VIEW_STRETCHES = (1.0, 1.5, 2.0)
LINE_ASPECT = 3.0  # a plate's text line with line_crop's padding is at least this wide : high
PLATE_PAD = float(os.environ.get("KAKOU_PLATE_PAD", "0.1"))  # line-heights above and below a tight cut
SURE = 0.97  # a first view (1.5x) this sure of every character needs no second opinion
ROI_SIDE = 320  # detector size for a located plate region: chars stay >= ~25 px tall
RUN_ON = 0.03  # a line this close to a region's side (share of its width) may run on beyond it
RUN_ON_PAD = 0.6  # ... and the region is detected again this much wider on each side
SMALL_PLATE_FRAME = 960  # frames at least this wide are searched for plates under 7 % of their width
SMALL_WIDTHS = (0.035, 0.07)  # ... that narrow a share of the frame's width
ZOOM_BELOW = 640  # px: a frame this small that gave no plate is read again enlarged to ZOOM_SIDE
ZOOM_SIDE = 960
ZOOM_FROM = 200  # ... unless smaller still: a plate crop (94 x 24), which the crop stage has read as it is
# A plate crop at least ONE_ROW_CROP[0] as wide as high may be a single-row plate (440 x 140 mm,
# 3.1 : 1, cut with a margin), one under ONE_ROW_CROP[1] a double-row plate (440 x 220 mm, 2 : 1);
# between the two it is read both ways and the grammar picks (until stop 27 a crop under 2.6 was
# read as two rows only: field crop 133, a blue plate cut at 2.43, went on to the detector's
# stages, which under camera variations read its 蒙 as 苏 three times). Only a cut-out at most
# LOOSE_CROP_HEIGHT px high: a small whole frame that shape (598 x 267) is a scene, and reading
# it as one line cost 300 ms for nothing.
ONE_ROW_CROP = (2.2, 2.6)
LOOSE_CROP_HEIGHT = 160
TWO_ROW_CUT = 0.4  # a double-row plate crop: province + letter above this share of its height, five below
DIM_SPAN = 160  # grey levels: a located region whose content uses fewer is read again stretched
SMALL_REGION = 160  # px: a located region this small that read nothing valid is detected again ...
SMALL_ENLARGE = 2.0  # ... enlarged this many times
BLIND_SIDE = 240  # px: ... or, where no text was found in it, enlarged to at least this (_second_looks)
CROP_TURNS = (-6.0, -3.0, 3.0, 6.0)  # degrees a plate crop that read nothing is turned by (_turned_crop)
CROP_TURNS_AGREE = 2
CROP_TURN_SURE = 0.85
CROP_MARGIN = 0.25  # crop heights of margin round a tight crop for its second reading (_crop_stage)
MAX_LINE_ASPECT = 7.0  # longer detector lines are not plates (plates measured 2.1-3.3, timestamps 8.4-11)
MAX_PLATE_CJK = 2  # Chinese characters a plate line can hold: the province and a suffix (学 警 领 …)
# Where the province + letter row of a double-row plate may lie, in line-heights above and below
# the top of the detector's box around the five-character row: above it (rendered plates: the box
# is tight), or inside its top when the box is too tall for one row of five (under BOTH_ROWS_BOX
# as long as high: real plates' rows are close and the box takes in both; field 039 and 079, at
# 2.2 and 1.7, had the upper row 0-0.4 line-heights under the box's top). The grammar picks.
UPPER_STRIPS = ((0.85, 0.02), (0.75, 0.12))
UPPER_STRIPS_INSIDE = ((0.2, 0.4), (0.1, 0.45))
BOTH_ROWS_BOX = 2.6
NET_SURE = 0.9  # each body character's probability for the plate network's opinion to count (_net_opinion)
NET_LETTER = 0.8  # ... and a letter's where a plate read has a digit, to hold the read back (_contradicts)
DOUBT_GAP = 0.2  # a valid read must beat a different, doubtful reading of the frame by this much
# Province characters PP-OCR, a general recogniser, takes for one another on small, compressed or
# noisy plates, and the plate network, trained on plate crops, draws apart: a valid read whose
# province the network reads as its look-alike, at NET_LOOKALIKE, goes to the officer
# (_net_rival). 粤 and 鄂 share their lower half: field dev plates read as they are,
# under the 22 camera variations and the 11 mild ones, PP-OCR read 粤 as 鄂 five times on three
# frames, valid at 0.83-1.0, and the network read 粤 there four times (0.35-0.59); of 605 right
# 粤 reads it read none as 鄂. Its provinces are not trusted otherwise (川 as 陕, 湘 or 贵 on small
# lines: 81 right reads it contradicts at 0.5).
LOOKALIKE_PROVINCES = (frozenset("粤鄂"),)
NET_LOOKALIKE = 0.3
# ... and PP-OCR errs one way: a 鄂 it reads stands only where the network reads 鄂 too (field 044
# at gamma 0.85: 粤 read as 鄂 at 0.95, the network reading 云). Of the dev plates' 653 right 粤
# reads the network read 粤 637 times; a clear rendered 鄂 it reads at 0.95-0.97.
TAKEN_FOR = {"鄂": "粤"}
# A letter of a valid read's serial that the plate network reads as a digit, at NET_DIGIT, while
# it reads every other character of the body as the read does, sends the read to the officer
# (_net_rival). PP-OCR reads a digit it sees only in part (a tow hook over 065's 6) as the letter
# its visible strokes make (C), sure of it; the network reads digits well and letters poorly.
# Not where the letter looks like the digit whole (DIGIT_LOOKALIKES): there the network is as
# likely to be the one mistaken (it reads rendered Q and J as 0 and 1, a blurred B as 8).
NET_DIGIT = 0.7
DIGIT_LOOKALIKES = {"0": "DOQU", "1": "IJLT", "2": "Z", "5": "S", "6": "G", "8": "B"}
# A plate seen from the side and below leans: the detector's box follows the text's direction
# but its sides stay square to it, so the rectified characters are slanted (italic) and the
# ends are cut. Slants (tan) from SHEAR_MIN up to SHEAR_MAX are straightened on a retry.
SHEAR_MIN = 0.15
SHEAR_MAX = 0.8
SHEAR_GROW = 0.3  # line-heights added at each end before straightening (the slanted ends)
SHADOW_SECOND = 0.5  # the shadow's factor taken this much for the second lighting (_in_shadow)
CROP_SHADOW_ENLARGE = 4  # a plate crop is searched for a shadow's edge this many times enlarged
DENOISE = (5, 40.0, 5.0)  # bilateral filter (diameter, colour sigma, space sigma) for a noisy line's retry
# Headlight glare at night washes a plate out to near white (saturation ~20, value ~245):
# neither its paint nor its characters' contrast is there to find. Darkened (gamma 3) its
# paint comes back; the frame is then read darkened by GLARE_GAMMA.
GLARE_PROBE = 3.0
GLARE_GAMMA = 2.0
# A valid read is checked against the paint behind its line (line_paint): that colour must be
# at least PAINT_SHARE of the line's crop at saturation >= PAINT_SATURATION. Rendered plates
# measured 0.65-0.78 (blue, yellow) and 0.32-0.36 (green: white-to-green gradient).
PAINT_SHARE = 0.2
PAINT_SATURATION = 80


class PlateRead(Read):
    kind: str | None = None  # plate_kind_of(text)
    # Other plates this reading saw and did not keep (a line's plain reading that verification
    # turned into another plate), with their confidence: doubts for the frame's later stages.
    rivals: tuple[tuple[str, float], ...] = Field(default=(), exclude=True)
    overruled: bool = Field(default=False, exclude=True)  # a valid reading a doubt stood against


# A region to look at again: its frame, itself, the box searched around it, "dim" or "small".
_Again = tuple[np.ndarray, Region, Region, str]


class PlateReader:
    """Reuse one instance: it shares the process-wide OCR engine; `read` is thread-safe."""

    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        latin_patterns: Sequence[str] = DEFAULT_LATIN_PATTERNS,
        engine: OcrEngine | None = None,
    ) -> None:
        self.threshold = threshold
        self.latin_patterns = tuple(latin_patterns)
        self._engine = engine

    @property
    def engine(self) -> OcrEngine:
        if self._engine is None:
            self._engine = shared_engine()
        return self._engine

    def read(self, image: np.ndarray) -> PlateRead:
        """Cheapest stage first (see _stages); each stage's result is checked against the
        doubts the earlier ones left (_settled)."""
        try:
            frame = as_frame(image)
        except ImageError as exc:
            return PlateRead(text=None, confidence=0.0, valid=False, error=str(exc))
        if is_blank(frame):
            return PlateRead(text=None, confidence=0.0, valid=False, error="blank image")
        r = self._read_frame(frame)
        if not r.valid and is_one_row_crop(*frame.shape[:2]):
            # Field crops under the eleven mild camera variations: exact 1,442 -> 1,452 of 1,474;
            # under the 22: 2,502 -> 2,524 of 2,948, wrong-but-valid 6 -> 6. Only crops that read
            # nothing pay: four full readings more, ~0.9-1.6 s.
            r = self._turned_crop(frame, r)
        return r

    def _turned_crop(self, crop: np.ndarray, r: PlateRead) -> PlateRead:
        """A plate crop that read nothing valid, read again turned by each of CROP_TURNS: a
        plate photographed from beside or below sits slanted in its box, its end characters
        (the province most) running out of the recogniser's line. Turning is a search over
        views, so what it finds must hold more than a reading: at least CROP_TURNS_AGREE turned
        readings name the plate at CROP_TURN_SURE or more, each read so as it is (its plain text
        is that plate, not a decoding of it from the alternatives), no turned reading names
        another, and where a doubt overruled the crop's own valid reading, they name that one.
        Not under a pole's band (its cut character reads as another whichever way it turns).
        Else the first reading stands and the officer decides."""
        if (edge := _crop_shadow(crop)) is not None and edge.far_x is not None:
            return r
        reads = [self._read_frame(turned(crop, degrees, cv2.INTER_CUBIC)) for degrees in CROP_TURNS]
        named = {t.text for t in reads if t.valid}
        if len(named) != 1:
            return r
        (plate,) = named
        as_is = [t for t in reads if t.valid and t.confidence >= CROP_TURN_SURE and self._normalised(t.raw) == plate]
        if len(as_is) < CROP_TURNS_AGREE or (r.overruled and self._normalised(r.raw) != plate):
            return r
        return min(as_is, key=lambda t: t.confidence).model_copy(update={"raw": r.raw})

    def _normalised(self, raw: str | None) -> str | None:
        return normalise_plate(raw or "", self.latin_patterns)

    def _read_frame(self, frame: np.ndarray) -> PlateRead:
        """The frame's reading (read), before a crop that read nothing is turned."""
        # Every stage's doubtful reading (a plate below the threshold) is remembered: a later
        # stage or view that reads *another* plate does not win over it; the officer settles it.
        doubts: dict[str, float] = {}
        regions = plate_regions(frame, limit=3)  # located once: the stages and the shadow check use them
        r = self._settled(self._stages(frame, doubts, regions=regions), doubts)
        h, w = frame.shape[:2]
        if not r.valid and not r.overruled and ZOOM_FROM <= max(h, w) < ZOOM_BELOW:
            # A small frame (a far camera, a cropped still): the detector never enlarges, and a
            # plate of 8-10 px characters is found in pieces or not at all. Read once more
            # enlarged, held to the doubts the frame itself left (field dev frames shrunk to
            # 0.7: exact 71 -> 75 of 87, one more wrong; only frames that gave no read pay).
            big = enlarged(frame, ZOOM_SIDE)
            r = _second_reading(self._settled(self._stages(big, doubts, zoomed=True), doubts), r)
        if not r.valid and not r.overruled and (blur := motion_blur(frame))[0]:
            # Blurred by motion (along the rows or the columns): last, the frame deblurred
            # (imageio.motion_blur / deblurred), held to the doubts the frame left (field dev
            # plates blurred by 8 px at 1920 px: 73 -> 80 of 87, wrong-but-valid 2 -> 2).
            r = _second_reading(self._settled(self._stages(deblurred(frame, *blur), doubts), doubts), r)
        if not r.valid and not r.overruled and (clear := unveiled(frame)) is not frame:
            # Veiled by fog or a dirty window: last, stretched back to the full range
            # (imageio.unveiled; any other frame comes back as it is), held to the doubts the
            # frame left (field dev plates under a veil of half: 82 -> 84 of 87, wrong-but-valid
            # 1 -> 1).
            r = _second_reading(self._settled(self._stages(clear, doubts), doubts), r)
        if not r.overruled and (edge := shadow_edge(frame)) is not None:
            # A shadow's sharp edge across the frame (~8 ms to look): a last attempt if nothing
            # read, a check on a valid read whose plate it crosses (_in_shadow).
            r = self._in_shadow(frame, edge, r, doubts, regions)
        elif r.valid and _crop_shaped(h, w) and (edge := _crop_shadow(frame)) is not None:
            # A valid read of a plate crop with a shadow's edge across it is checked the same way
            # (the crop is the plate: the edge crosses it). Not the last attempt on a crop that
            # read nothing: on an edge seen where there is none (the plate's frame, its rivets),
            # a noisy dark crop lit again read 新 for 皖 under both lightings.
            r = self._in_shadow(frame, edge, r, doubts, [Region(0, 0, w, h, "crop", 1.0)], crop=True)
            if edge.far_x is not None and not r.valid:
                # Held under a pole's band: the plate network is no judge of it either (it read
                # the character in the band, 044's U, as 1 at 0.98, as PP-OCR did), nor is the
                # crop turned (_turned_crop). Field crops under a pole: wrong-but-valid 9 -> 2,
                # exact 79 -> 77.
                return r
        if is_one_row_crop(h, w):
            # Field crops as they are: exact 132 -> 134 of 134 (005's D, 021's T); under eleven
            # camera variations 1,402 -> 1,417 of 1,474, wrong-but-valid 7 -> 2 (5 held back,
            # none right). ~3 ms a crop.
            # The doubts hold every other plate the stages read, their rivals included (_settled).
            r = self._net_opinion(frame, r, {self._normalised(r.raw), *doubts}, lookalikes=True)
        return r

    def _in_shadow(
        self,
        frame: np.ndarray,
        edge: ShadowEdge,
        r: PlateRead,
        doubts: dict[str, float],
        regions: list[Region],
        crop: bool = False,
    ) -> PlateRead:
        """A frame with a shadow's sharp edge across it (models/shadow.py).

        Read nothing valid: read again with the shaded side lit (last, held to the frame's
        doubts), and lit once more by SHADOW_SECOND of the shadow's factor — the factor is an
        estimate, and a plate that only one lighting names goes to the officer (dev plates under a
        pole's shadow: one lighting 81 of 87 with 1 wrong-but-valid, two that must agree 80 with
        0; with three quarters of the factor the second time, 044's 粤 read as 鄂 under both;
        under a canopy's edge 85 of 87, 0 wrong, either way).

        Read valid, on a frame whose edge crosses a located plate: the frame lit again must not
        name another plate (018's 浙 read as 新 at 1.0, half of it in the shade), or the officer
        decides; on a plate crop (`crop`) under a band, it must name the same plate. `regions`:
        the plates located on the frame."""
        if not r.valid:
            again = self._settled(self._stages(unshadowed(frame, edge), doubts), doubts)
            if again.valid:
                dimmer = replace(edge, step=edge.step * SHADOW_SECOND)
                other = self._settled(self._stages(unshadowed(frame, dimmer), {}), {})
                if other.text != again.text:
                    again = _unsure(again)
            return _second_reading(again, r)
        if not any(edge.crosses(g.box, frame.shape) for g in regions):
            return r
        again = self._settled(self._stages(unshadowed(frame, edge), {}), {})
        if again.valid and again.text == r.text:
            return r
        # Under a band across a crop (a pole's shadow across the characters) the read must be
        # confirmed lit again: one character cut by its two edges reads as another (U, 7, D as
        # 1), surely. Not on a scene, where the band is wider than the plate's characters (dev
        # plates under a pole: 2 right reads lost, none wrong to catch).
        return _unsure(r) if again.valid or (crop and edge.far_x is not None) else r

    def _net_opinion(
        self, crop: np.ndarray, r: PlateRead, seen: set[str | None], lookalikes: bool = False
    ) -> PlateRead:
        """A plate image's reading put to the plate-specific recogniser (`plate_net`), whose
        opinion counts only where every character of its body (all but the province) is
        NET_SURE. It settles a reading PP-OCR left open when exactly one of the plates PP-OCR
        read (`seen`) has that body, or, with `lookalikes` (on a plate crop), has it but for one
        digit the network reads as the letter it looks like (_net_fits; not on a scene's line,
        where it reads 011's glare-lit 6 as G at 0.98), and the network's province, if as sure,
        agrees (its provinces are not trusted otherwise); it holds back a valid reading whose
        body it reads otherwise, or where it reads a letter for one of its digits
        (_contradicts), and that reading may then settle as the network's. It never reads a
        province, nor any character that is not PP-OCR's or its look-alike."""
        net = shared_plate_net()
        if net is None or (r.valid and r.kind == "latin"):
            return r
        chars = net.read(crop)
        opinion = sure_body(chars)
        if r.valid:
            if r.text is None or not _contradicts(r.text, chars, opinion):
                return _unsure(r) if r.text and _net_rival(r.text, chars, digits=False) else r
            r, seen = _unsure(r), {*seen, r.text}
        if opinion is None:
            return r
        body, sure = opinion
        fits = {t[0] + body for t in seen if t and province_of(t[0]) and _net_fits(t[1:], body, lookalikes)}
        province, p = chars[0]
        if len(fits) != 1 or sure < self.threshold:
            return r
        (plate,) = fits
        if (p >= NET_SURE and province != plate[0]) or _net_rival(plate, chars, digits=False):
            return r
        kind = plate_kind_of(plate, self.latin_patterns)
        return r if kind is None else PlateRead(text=plate, confidence=sure, valid=True, raw=r.raw, kind=kind)

    def _settled(self, stages: Iterable[PlateRead], doubts: dict[str, float]) -> PlateRead:
        """The first valid reading that no doubt (within DOUBT_GAP) stands against, else the
        most confident reading; `doubts` gathers what each stage read below the threshold."""
        best: PlateRead | None = None
        for r in stages:
            for t, c in r.rivals:  # what this stage itself read otherwise counts too
                doubts[t] = max(doubts.get(t, 0.0), c)
            if r.valid:
                # Overruled only by a reading nearly as confident as this one (within DOUBT_GAP).
                if any(t != r.text and c >= r.confidence - DOUBT_GAP for t, c in doubts.items()):
                    conf = min(r.confidence, 0.5)
                    return PlateRead(text=None, confidence=conf, valid=False, raw=r.raw, overruled=True)
                return r
            if r.raw and (doubt := normalise_plate(r.raw, self.latin_patterns)) is not None:
                doubts[doubt] = max(doubts.get(doubt, 0.0), r.confidence)
            best = r if best is None or r.confidence > best.confidence else best
        return best or PlateRead(text=None, confidence=0.0, valid=False)

    def _stages(
        self, frame: np.ndarray, doubts: dict[str, float], zoomed: bool = False, regions: list[Region] | None = None
    ) -> Iterator[PlateRead]:
        """Cheapest first: a plate-shaped small image as a crop; plate-coloured / text-textured
        regions found classically with the detector run only inside each (a few ms instead of
        the whole frame's 25-140 ms); then the same on the frame after local light equalisation
        (CLAHE on lightness: backlight, night and shadow take the plate's contrast, and on the
        field set every plate that equalisation rescued was read at this stage); then the located
        regions looked at again (_second_looks: stretched if dim, enlarged if small); then the whole
        frame at 480 px and 960 px, with plates too small to be located before searched for
        between the two (_small_stages). The equalised whole frame is not searched: on the field dev
        set it read no plate the earlier stages had missed (0 of 87) and cost 250-450 ms on
        every frame that no stage reads. `doubts` is filled by the caller as stages yield.
        `zoomed`: a small frame read again enlarged, whose 480 px pass the frame as it came has
        had already. `regions`: the frame's located plates, where the caller has them."""
        yield from self._crop_stage(frame)
        if regions is None:  # located once: the glare stage compares with them
            regions = plate_regions(frame, limit=3)
        again: list[_Again] = []
        yield from self._region_reads(frame, regions, again)
        equalised = equalise_light(frame)  # ~30 ms at 1920 px: once, for the near and small stages
        yield from self._near_stages(equalised, again)
        yield from self._second_looks(again)
        sharp_first = bool(doubts) and max(frame.shape[:2]) <= 960
        yield from self._whole_stages(frame, equalised, sharp_first=sharp_first, sharp_only=zoomed)
        yield from self._glare_stages(frame, regions)

    def _glare_stages(self, frame: np.ndarray, regions: list[Region]) -> Iterator[PlateRead]:
        """Last, when nothing else read: a plate washed out by glare. Only if darkening the
        frame reveals plate paint where the frame itself shows none (~25 ms to find out), the
        darkened frame is detected whole at up to 960 px (the sharper pass: at 480 px the
        field night frame it was built on did not read). `regions`: those located on the frame.
        Paint here is a plate colour proper, as the stage was measured: darkening saturates every
        light surface, and the faded cues (locate.FADED_COLOURS, for locating only) see "revealed
        paint" on more frames (146 instead of 116 of 261 dev frames as is, dark and far; of the
        39 that reached this stage in four variations, 18 instead of 16 then paid for a 960 px
        detection of the darkened frame, with the same reads)."""
        seen = [r for r in regions if r.cue in PLATE_COLOURS]
        revealed = [r for r in plate_regions(with_gamma(frame, GLARE_PROBE), limit=3) if r.cue in PLATE_COLOURS]
        if not any(all(_overlap(r, s) < 0.3 for s in seen) for r in revealed):
            return
        dark = with_gamma(frame, GLARE_GAMMA)
        side = min(960, max(frame.shape[:2]))
        yield self._from_lines(dark, self._recognised(dark, self.engine.detect(dark, side)))

    def _near_stages(self, frame: np.ndarray, again: list[_Again]) -> Iterator[PlateRead]:
        yield from self._crop_stage(frame)
        yield from self._region_reads(frame, plate_regions(frame, limit=3), again)

    def _second_looks(self, again: list[_Again]) -> Iterator[PlateRead]:
        """Located regions that read nothing valid, looked at again after the near stages (a
        frame those settle pays nothing), both held to the frame's doubts like any stage.

        Dim: the detector found no text, and the region's content spans under DIM_SPAN grey
        levels. The detector normalises every input alike and sees no characters on a plate
        dimmed by backlight, dusk or under-exposure (field 036 under-exposed: 40 of 255 grey
        levels), even after the frame's equalisation: read again stretched to the full range,
        with a margin around it (the line's wider cuts stay consistent). Field dev plates as they
        are and under nine camera variations: exact 799 -> 804 of 870, wrong-but-valid 8 -> 8.

        Small: under SMALL_REGION px, text found but nothing valid read. The detector never
        enlarges, and at 8-10 px boxes a plate without its faint province character: detected
        again enlarged SMALL_ENLARGE times. Under eleven camera variations: exact 880 -> 887 of
        957, wrong-but-valid 12 -> 12; large frames halved 15 -> 17 of 19; unvaried 86 of 87.
        Where it found no text at all (and the region, if dim, read nothing stretched), enlarged
        to BLIND_SIDE px: it saw nothing in field 032's 63 px plate shrunk to 0.9, nor enlarged
        twice (mild variations 924 -> 926 of 957, 22 variations 1,791 -> 1,792, wrong 14 -> 14)."""
        for frame, region, roi, _ in (a for a in again if a[3] == "dim"):
            low, high = light_span(frame, roi.box)
            if high - low < DIM_SPAN:
                around = roi.padded(0.3, 1.0, frame.shape).box
                stretched = list(self._region_reads(stretched_within(frame, around, (low, high)), [region]))
                yield from stretched
                if any(r.valid for r in stretched):
                    continue
            if (side := max(roi.width, roi.height)) < SMALL_REGION:
                yield from self._region_reads(frame, [region], enlarge=max(SMALL_ENLARGE, BLIND_SIDE / side))
        for frame, region, _, _ in (a for a in again if a[3] == "small"):
            yield from self._region_reads(frame, [region], enlarge=SMALL_ENLARGE)

    def _crop_stage(self, frame: np.ndarray) -> Iterator[PlateRead]:
        h, w = frame.shape[:2]
        if _crop_shaped(h, w):
            one_row, two_rows = _may_be_one_row(h, w), w / h < ONE_ROW_CROP[1]
            # A crop is the plate: its own paint is the line's.
            first = self._crop_read(frame, one_row, two_rows)
            yield paint_checked(first, frame)
            if one_row and h <= LOOSE_CROP_HEIGHT:
                # A tight crop puts the end characters at its edges, where the recogniser (which
                # sees lines cut with a margin) drops or misreads them, the province most: read
                # once more inside a margin of the plate's own colour, when the crop as it is
                # did not settle. It settles only what that reading left open: any other plate
                # the crop was read as (a T or a 1) stands against it, however unsure. Field crops
                # as they are and under nine camera variations: exact 1,271 -> 1,277 of 1,340,
                # wrong-but-valid 5 -> 5 (margins of 0.15-0.3 heights: +2 to +6, wrong +-1;
                # without the doubt rule, 021's T read as 1 became a sure wrong read).
                again = self._crop_read(_with_margin(frame, CROP_MARGIN), True, False)
                doubts = {self._normalised(first.raw), *(t for t, _ in first.rivals)}
                yield paint_checked(_unsure(again) if again.valid and doubts - {None, again.text} else again, frame)

    def _crop_read(self, crop: np.ndarray, one_row: bool, two_rows: bool) -> PlateRead:
        """A plate crop verified as one line (if it may be one row), with its plain reading(s)
        kept as a rival: where they name different plates nearly as surely, the officer decides
        (field crops under camera variations: wrong-but-valid 13 -> 9 of 1,206, exact 1,128 ->
        1,124; ~10 ms more per crop). A crop that may hold two rows is also verified as its
        rows set side by side (_as_one_line); the surer verified reading stands."""
        reads = [self._verified(crop) if one_row else None]
        if two_rows:
            # A double-row plate's rows set side by side and verified as one line, as in a
            # scene (_upper_rows): the plain assembled reading is only its rival.
            reads.append(self._verified(_as_one_line(*_crop_rows(crop)), again=False))
        verified = max((r for r in reads if r is not None), key=lambda r: (r.valid, r.confidence), default=None)
        plain = self._best(self._crop_candidates(crop, one_row, two_rows))
        if verified is not None and plain.text not in (None, verified.text):
            verified = verified.model_copy(update={"rivals": ((plain.text, plain.confidence),)})
        return verified or plain

    def _small_stages(self, frame: np.ndarray, equalised: np.ndarray) -> Iterator[PlateRead]:
        """A plate under 7 % of the frame's width (a car park or street camera, a vehicle farther
        than the lane's), on frames at least SMALL_PLATE_FRAME wide: located at twice the usual
        working width (_small_regions) and read as located plates are: plain, on the frame
        equalised (`equalised`, as the near stages had it), then looked at again (_second_looks).
        It was read plain only, from 1280 px: field dev frames set into a scene up to twice as
        wide, the plate the same size (4-5 % of the width), read 404 -> 414 of 435 (five fills
        and places); under the seventeen camera variations 1,360 -> 1,370 of 1,479 (077 at its
        frame's edge 8 more times), wrong-but-valid 21 -> 21, no read lost."""
        if frame.shape[1] < SMALL_PLATE_FRAME:
            return
        again: list[_Again] = []
        yield from self._region_reads(frame, _small_regions(frame), again)
        yield from self._region_reads(equalised, _small_regions(equalised), again)
        yield from self._second_looks(again)

    def _region_reads(
        self, frame: np.ndarray, regions: list[Region], again: list[_Again] | None = None, enlarge: float = 1.0
    ) -> Iterator[PlateRead]:
        """Each region's text lines detected (`enlarge`d first) and read; `again` collects the
        regions (with their frame and the box searched) that read nothing valid and may read on a
        second look (_second_looks): "dim" where the detector found no text, "small" where it did."""
        for region in regions:
            roi, boxes = self._detect_around(frame, region, 0.12, ROI_SIDE, enlarge)
            r = self._from_lines(frame, self._recognised(frame, boxes))
            if r.kind == "latin" and any(_runs_out(b, roi, frame.shape[1]) for b in boxes):
                # A site's Latin plate (a pattern of variable length) read from a region whose text
                # reaches its side: the plate may be wider than located (a white plate split in
                # two by the texture cue), and its part is itself a valid plate (AX17 of AX1790).
                # The region is read again wider, and that reading stands. (Chinese plates have a
                # fixed length; re-reading them wider lost sure reads on real frames.)
                _, boxes = self._detect_around(frame, region, RUN_ON_PAD, 2 * ROI_SIDE)
                r = self._from_lines(frame, self._recognised(frame, boxes))
            r = r if colour_agrees(region.cue, r.text) else _unsure(r)
            if again is not None and not r.valid:
                if not boxes:
                    again.append((frame, region, roi, "dim"))
                elif max(roi.width, roi.height) < SMALL_REGION:
                    again.append((frame, region, roi, "small"))
            yield r

    def _detect_around(
        self, frame: np.ndarray, region: Region, pad: float, most: int, enlarge: float = 1.0
    ) -> tuple[Region, list[np.ndarray]]:
        """The region grown by `pad` of its width at each side (and 0.3 of its height), and the
        text lines detected in it at up to `most` px, or enlarged `enlarge` times (bicubic)."""
        roi = region.padded(pad, 0.3, frame.shape)
        if enlarge > 1.0:
            crop = cv2.resize(
                frame[roi.y0 : roi.y1, roi.x0 : roi.x1], None, fx=enlarge, fy=enlarge, interpolation=cv2.INTER_CUBIC
            )
            offset = np.array([roi.x0, roi.y0], np.float32)
            return roi, [b / enlarge + offset for b in self.engine.detect(crop, max(crop.shape[:2]))]
        side = min(most, max(roi.width, roi.height))
        return roi, self.engine.detect_region(frame, roi.box, side)

    def _whole_stages(
        self, frame: np.ndarray, equalised: np.ndarray, sharp_first: bool = False, sharp_only: bool = False
    ) -> Iterator[PlateRead]:
        """The whole frame at 480 px, then at 960 px (or its own size if smaller). When a region
        already read a grammatical plate below the threshold, the plate is there and large
        enough but its line was cut or read unsurely: the sharper pass goes first (on the field
        dev set the three such frames were all settled there, after 50-200 ms spent at 480 px).
        The caller asks for that only on frames of at most 960 px, where the sharper pass is the
        frame as it is; on a 1280 px render it is a 4x larger detection, and there the 480 px
        pass settled the doubts (plate model work +4 % when 960 went first)."""
        long_side = max(frame.shape[:2])
        sides = [480, 960] if long_side > 480 else [480]  # a small frame is read once, as it is
        sides = sides[-1:] if sharp_only else sides
        if sharp_first:
            sides.reverse()
        for side in sides:
            yield self._from_lines(frame, self._recognised(frame, self.engine.detect(frame, side)))
            if side == 480:
                # A plate the 480 px pass could not see may be one too small for the located
                # regions (_small_stages, on frames from SMALL_PLATE_FRAME); looking for it
                # costs 20-60 ms, the 960 px pass 150-300: it comes before that pass, unless
                # sharp_first put the 960 px pass first.
                yield from self._small_stages(frame, equalised)

    def _recognised(self, frame: np.ndarray, boxes: list[np.ndarray]) -> list[TextLine]:
        """The boxes recognised (STRETCH wider), except lines far longer than any plate's: a
        plate line is 2-4 times as long as high (with the detector's margin), a burned-in
        timestamp or an overlay caption 8-11 times, and recognising those at 1.5x width cost
        30-50 ms each for text the plate grammar can never accept."""
        return self.engine.recognise_boxes(frame, [b for b in boxes if _aspect(b) <= MAX_LINE_ASPECT], STRETCH)

    def _from_lines(self, frame: np.ndarray, lines: list[TextLine]) -> PlateRead:
        cands = candidates(lines, max_parts=3, stacked=True)
        r = self._best(cands)
        if r.valid and r.kind != "latin":
            return self._checked(frame, lines, r)
        # The lower row of a double-row plate alone can look like a Latin plate; if a
        # province row sits above it, the Chinese reading wins.
        cands += self._upper_rows(frame, lines)
        r = self._best(cands)
        if (not r.valid or r.kind == "latin") and WIDEN > 0:
            wide = self._widened(frame, lines)
            r = self._best(cands + [(ln.text, ln.score) for ln in wide])
            if r.valid and r.kind != "latin" and (src := self._source_line(wide, r.text)) is not None:
                return self._line_verified(frame, src, plain=r) or r
        if not r.valid:
            # A line of plate length whose plain reading breaks the grammar (a province read as a
            # Latin letter: QB·D01366) may still decode from the recogniser's alternatives; not a
            # line of Chinese text nor one that starts with two digits (_may_be_plate_line).
            for ln in lines:
                if _may_be_plate_line(ln.text):
                    v = self._line_verified(frame, ln)
                    if v is not None and (v.valid or v.confidence > r.confidence):
                        r = v
                    if r.valid:
                        break
            return r
        return self._paint_agrees(frame, lines, r)

    def _paint_agrees(self, frame: np.ndarray, lines: list[TextLine], r: PlateRead) -> PlateRead:
        """A valid read from the line(s) it was assembled from, checked against their paint
        (paint_checked): the line whose text is the plate's, else the widest line whose text
        is part of it (a double-row plate's lower row, a widened line)."""
        if not r.valid or r.text is None:
            return r
        own = [ln for ln in lines if normalise_plate(ln.text, self.latin_patterns) == r.text]
        part = [ln for ln in lines if len(c := clean(ln.text)) >= 4 and (c in r.text or c in clean(r.raw or ""))]
        src = max(own or part, key=lambda ln: ln.x1 - ln.x0, default=None)
        return r if src is None else paint_checked(r, line_crop(frame, src, 0.0))

    def _checked(self, frame: np.ndarray, lines: list[TextLine], r: PlateRead) -> PlateRead:
        """A plate read from one line, or from neighbours in one row (_source_line), is verified
        character by character (_verified); plates assembled across rows (a double-row plate)
        keep the line reading."""
        line = self._source_line(lines, r.text)
        if line is None:
            return self._paint_agrees(frame, lines, self._rows_agree(frame, lines, r))
        v = self._line_verified(frame, line, plain=r) or r
        return _unsure(v) if self._reads_on(frame, line, v) else v

    def _rows_agree(self, frame: np.ndarray, lines: list[TextLine], r: PlateRead) -> PlateRead:
        """A plate assembled from a short line over a 5-character one (a double-row plate whose
        upper row the detector found) checked against the two rows read as one line
        (_two_rows): where that names another plate, the officer decides."""
        if r.text is None or len(r.text) != 7:
            return r
        lows = [ln for ln in lines if clean(ln.text) == r.text[2:]]
        named = {v.text for ln in lows for v in self._two_rows(frame, ln)[1] if v.valid}
        return _unsure(r) if named - {r.text} else r

    def _reads_on(self, frame: np.ndarray, line: TextLine, r: PlateRead) -> bool:
        """Whether a valid 7-character plate, from a line whose paint is not clearly blue or
        yellow (green, a large new-energy plate's yellow-green, unknown), reads on past its end
        when the line is grown by WIDEN line-heights: a new-energy plate whose eighth character
        the detector's box left out (field 074 at half size: 青A00109 at 1.0 for 青A00109D).
        The officer decides; a later stage may still read the whole plate."""
        if not r.valid or r.text is None or len(r.text) != 7:
            return False
        if line_paint(line_crop(frame, line, 0.0)) in ("blue", "yellow"):
            return False
        (wide,) = self.engine.recognise_boxes(frame, [_grown(line, WIDEN)])
        body, grown = r.text[1:], clean(wide.text)
        return len(grown) > len(r.text) and body in grown and not grown.endswith(body)

    def _source_line(self, lines: Sequence[TextLine], text: str | None) -> TextLine | None:
        """The one line a plate was read from: a line whose text is the plate, else a run of
        neighbours in a row whose joined text is (a plate the detector split at its dot or
        around a faint character), taken as one line from the first's left to the last's right
        edge, so that the joined reading is verified like any other."""
        own = next((ln for ln in lines if normalise_plate(ln.text, self.latin_patterns) == text), None)
        if own is not None or text is None:
            return own
        for row in row_groups(lines):
            for i in range(len(row)):
                for run in (row[i : i + 2], row[i : i + 3]):
                    if len(run) > 1 and normalise_plate("".join(ln.text for ln in run), self.latin_patterns) == text:
                        box = (run[0].box[0], run[-1].box[1], run[-1].box[2], run[0].box[3])
                        return TextLine(box, text, min(ln.score for ln in run))
        return None

    def _line_verified(self, frame: np.ndarray, ln: TextLine, plain: PlateRead | None = None) -> PlateRead | None:
        """The line verified (_verified) cut tight to its characters (PLATE_PAD line-heights
        above and below), else cut with line_crop's usual margin. The recogniser's certainty
        moves with the margin: of six field plate lines unsure with the margin, five were sure
        cut tight. But a tight cut can clip a tilted line's province character, which the
        grammar then fills from the alternatives (a rendered 苏 read as S, decoded 皖 at 0.88):
        a tight read is taken only when its plain top reading is the plate (_read_as_is);
        otherwise the usual cut decides, and a different plate from it must beat the tight cut's
        doubt by DOUBT_GAP. A line that does not decode as a plate cut tight is not read again
        (it did not with the margin either: field 2 of 2, renders 25 of 25) unless its plain
        reading is a valid plate (`plain`), which must not pass unverified; `plain` is what
        stands, paint-checked, when no cut decodes. Paint-checked on the usual cut (its
        thresholds were measured there)."""
        cut = line_crop(frame, ln, 0.0)
        if not cut.size:
            return None
        wide = _wide_crop(frame, ln)
        tight = line_crop(frame, ln, 0.0, PLATE_PAD)
        net_cut = tight if tight.size else cut  # the plate network reads the line cut tight
        first = self._verified(tight, wide) if tight.size else None
        if first is not None and first.valid and _read_as_is(clean(first.raw or ""), first.text):
            return paint_checked(self._net_checked(net_cut, first), cut)
        if first is None and tight.size and plain is None:
            return None
        r = self._verified(cut, wide)
        if first is not None and not first.valid:
            doubt = self._normalised(first.raw)
            overruled = r is not None and r.valid and doubt not in (None, r.text)
            if r is not None and overruled and first.confidence >= r.confidence - DOUBT_GAP:
                r = r.model_copy(update={"text": None, "valid": False, "confidence": 0.5})
            if r is None or (not r.valid and first.confidence > r.confidence):
                r = first
        r = r or plain
        if r is None:
            return None
        if plain is not None and plain.text is not None and r.text != plain.text:
            # Cut as the detector boxed it, the line decodes to another plate than its plain
            # reading (or to none): that reading stays a rival, weighed by read(). (A tight cut
            # whose own top reading is the plate, above, settles it.)
            r = r.model_copy(update={"rivals": ((plain.text, plain.confidence),)})
        if not r.valid and r.raw and (as_is := normalise_plate(r.raw, self.latin_patterns)) == clean(r.raw):
            # A line PP-OCR read as a plate as it is, but not surely enough: the plate network
            # may settle it on the tight cut. It never holds one back here: a scene's line is not
            # the crop it learnt on (its sure veto cost a right read; its letter-for-digit veto,
            # _contradicts, caught 2 wrong reads under the fourteen variations for 1 to 6
            # right ones, as asked on some lines or all: 011's glare-lit 6 it reads as G at 0.98).
            # Field plates under eleven camera variations: exact 887 -> 892 of 957,
            # wrong-but-valid 12 -> 12 (asked about every verified line, cut tight or not, it
            # also settled a glare-lit 6 that both recognisers read as G).
            r = self._net_opinion(net_cut, r, {as_is})
        return paint_checked(self._net_checked(net_cut, self._line_agrees(net_cut, ln.text, r)), cut)

    def _net_checked(self, crop: np.ndarray, r: PlateRead) -> PlateRead:
        """A valid read that the plate network, reading the line's `crop`, may know better than
        PP-OCR (_net_rival: a look-alike province, a serial letter it reads as a digit): where it
        does, the officer decides, and the network's plate stays a doubt as sure as the read, so
        that another cut or stage reading the same line again does not settle it (field 036
        farther at JPEG q50: held on one cut, read again valid on a stretched one where the
        network was unsure)."""
        if not r.valid or r.text is None or not _net_may_know(r.text):
            return r
        net = shared_plate_net()
        rival = _net_rival(r.text, net.read(crop)) if net is not None else None
        if rival is None:
            return r
        return _unsure(r).model_copy(update={"rivals": (*r.rivals, (rival, r.confidence))})

    def _line_agrees(self, crop: np.ndarray, line_text: str, r: PlateRead) -> PlateRead:
        """A valid reading of a line checked against the line's first reading (`line_text`, the
        recogniser's on the detector's box): where the two name different characters
        (_differs_at), the plate network must read the verified one on `crop`, else the read
        goes to the officer. Two readings of one line by one recogniser that disagree on a
        character mean neither is sure of it (046 at 30° from the side: its first reading ends
        in 7, the decoded one in 1, the plate in T). Asked only after a cut whose own top
        reading was not the plate (_line_verified returns that one earlier): held back there,
        a right read gave way to a later stage's wrong one. Field plates under the fifteen
        camera variations: exact 1,187 -> 1,189 of 1,305, wrong-but-valid 24 -> 20, no right
        read lost; unvaried unchanged."""
        if not r.valid or r.text is None or not (at := _differs_at(clean(line_text), r.text)):
            return r
        net = shared_plate_net()
        chars = net.read(crop) if net is not None else []
        if len(chars) == len(r.text) and all(chars[i][0] == r.text[i] for i in at):
            return r
        return _unsure(r)

    def _widened(self, frame: np.ndarray, lines: list[TextLine]) -> list[TextLine]:
        """Each short line re-read with its box grown along the line at both ends: the detector
        sometimes stops one character short (a faint province character, a last digit), and
        the part it kept can itself look like a Latin plate ("JV7955" of 黑JV7955). Only reads
        that contain the original text are kept, so this can add characters, not change them."""
        short = [ln for ln in lines if 4 <= len(clean(ln.text)) <= 7]
        boxes = [_grown(ln, WIDEN) for ln in short]
        return [
            TextLine(wide.box, wide.text, min(wide.score, ln.score))
            for ln, wide in zip(short, self.engine.recognise_boxes(frame, boxes), strict=True)
            if clean(ln.text) in clean(wide.text) and clean(wide.text) != clean(ln.text)
        ]

    def read_many(self, frames: Iterable[np.ndarray]) -> PlateRead:
        return vote((self.read(f) for f in frames), self.threshold, PlateRead)

    def _upper_rows(self, frame: np.ndarray, lines: list[TextLine]) -> list[tuple[str, float]]:
        """Find the strip just above each 5-character line (a double-row plate's province +
        letter row that the detector missed) and read the two rows as one line: the strip,
        scaled to the lower row's height, is set before it (_as_one_line) and the whole is
        verified under the plate grammar like any line (_verified). Read alone, the small upper
        row lost its province character to the Chinese-first recogniser (field 039 read "A"
        under most camera variations); beside the lower row it reads as a plate line does
        (039: 5 -> 12 of the fifteen variations, nothing else changed). The strip is cut along
        the line's own slant (a rolled plate would otherwise lose half a character) at two
        heights; where their readings name different plates, the officer decides. Where no
        strip reads as one line, the upper row is read alone (_upper_pair) as before."""
        out: list[tuple[str, float]] = []
        for ln in lines:
            if len(clean(ln.text)) != 5:
                continue
            strips, reads = self._two_rows(frame, ln)
            sure = {v.text for v in reads if v.valid}
            if sure:
                cap = 1.0 if len(sure) == 1 else 0.5
                out += [(v.text, min(v.confidence, ln.score, cap)) for v in reads if v.valid and v.text]
                continue
            for strip in strips:
                top = self._upper_pair(strip)
                if top is not None:
                    out.append((top[0] + ln.text, min(top[1], ln.score)))
        return out

    def _two_rows(self, frame: np.ndarray, ln: TextLine) -> tuple[list[np.ndarray], list[PlateRead]]:
        """The strips above a 5-character line that may hold a double-row plate's upper row,
        and the readings of those holding one to three characters set before the line as one
        line (_upper_rows)."""
        # Both rows of a double-row plate share one background colour; above a single-row
        # (e.g. Latin) plate is the cab or bumper: a strip of another paint is not read.
        own = _strip_above(frame, ln, 0.0, 1.0)
        inside = UPPER_STRIPS_INSIDE if _aspect(np.array(ln.box)) < BOTH_ROWS_BOX else ()
        cuts = [(hi, s) for lo, hi in UPPER_STRIPS + inside if (s := _strip_above(frame, ln, lo, hi)).size]
        cuts = [(hi, s) for hi, s in cuts if _same_paint(s, own)]
        # A strip read as no character or as four or more (the lower row's tops, a badge, a
        # sign) holds no province + letter row: it is not set before the lower row.
        rows = [(hi, s) for hi, s in cuts if 1 <= len(self._row_chars(s)) <= 3]
        lower = [(s, low) for hi, s in rows if (low := self._lower_row(frame, ln, hi)).size]
        reads = [v for s, low in lower if (v := self._verified(_as_one_line(s, low), again=False))]
        return [s for _, s in cuts], reads

    @staticmethod
    def _lower_row(frame: np.ndarray, ln: TextLine, upper_ends: float) -> np.ndarray:
        """The lower row's cut: the line cut tight, or, where the upper row was looked for
        inside the box (it ends `upper_ends` line-heights under the box's top), the box below it."""
        if upper_ends < 0.3:
            return line_crop(frame, ln, 0.0, PLATE_PAD)
        return _strip_above(frame, ln, -upper_ends, 1.0 + PLATE_PAD, trim=0.0)

    def _row_chars(self, strip: np.ndarray) -> list[list[tuple[str, float]]]:
        """The strip's characters as the recogniser reads it, rivets at its ends trimmed."""
        chars = self.engine.recognise_chars(strip)
        while chars and _no_character(chars[0][0][0]):
            chars = chars[1:]
        while chars and _no_character(chars[-1][0][0]):
            chars = chars[:-1]
        return chars

    def _upper_pair(self, strip: np.ndarray) -> tuple[str, float] | None:
        """The province + letter row read as exactly those two slots: the letter's probability
        is the sum over characters that can only mean it there (J, 」, 丁, 了, 』 all mean J),
        so a J that the Chinese-first recogniser spreads over look-alikes is not sent to the
        officer for low confidence. Fewer than two characters fall back to the plain text.
        The row's two rivets, left and right of the characters, come back as quotes or dots at
        its ends (“粤·A”): they are trimmed (field 039 under camera variations: read in 4 of
        14 before)."""
        chars = self._row_chars(strip)
        if len(chars) < 2:
            ((text, score),) = self.engine.recognise([strip])
            return text, score
        prov = max(((p, pr) for c, pr in chars[0] if (p := province_of(c))), key=lambda t: t[1], default=None)
        letters: dict[str, float] = {}
        for c, pr in chars[-1]:
            if (letter := letter_slot(c)) is not None:
                letters[letter] = letters.get(letter, 0.0) + pr
        if prov is None or not letters:
            return None
        letter, pl = max(letters.items(), key=lambda t: t[1])
        # The row holds exactly two characters; anything emitted between them is a stray
        # stroke (川 comes back as 川I). Dropping it is an inference: it costs confidence.
        penalty = 1.0 if len(chars) == 2 else 0.97
        return prov[0] + letter, min(prov[1], pl) * penalty

    def _verified(self, crop: np.ndarray, wide: np.ndarray | None = None, again: bool = True) -> PlateRead | None:
        """The line read under the plate grammar from the recogniser's per-character
        alternatives over several views (constrained.py); its confidence is the weakest
        character's, capped by the margin to the runner-up plate. None when the line does not
        decode as a GA 36 plate (a Latin plate, a line holding half a plate). `wide` is the
        same line cut with more room at its ends, for the straightened retry. An unsure line is
        read again at a plate's aspect, straightened, and smoothed (noise, JPEG blocks), unless
        `again` is False (a line we composed, _upper_rows: it is read as it is or not at all)."""
        d, views = self._views_decoded(crop, 1.0, more=again)
        if again:
            d, views = self._read_again(crop, wide, d, views)
        if d is None:
            return None
        raw = top_text(views[0])
        conf = d.score
        if conf < self.threshold:
            return PlateRead(text=None, confidence=conf, valid=False, raw=raw, margin=d.margin)
        return PlateRead(text=d.text, confidence=conf, valid=True, raw=raw, kind=plate_kind_of(d.text), margin=d.margin)

    def _read_again(
        self, crop: np.ndarray, wide: np.ndarray | None, d: Decoded | None, views: list[Sequence[Step]]
    ) -> tuple[Decoded | None, list[Sequence[Step]]]:
        """An unsure line's later readings (_verified), each taken only where it overrules."""
        # A plate seen from the side is foreshortened: its rectified line can be narrower than
        # any plate line (1.4 : 1 for eight characters). If it gave no sure plate, it is read
        # again at a plate's aspect; a *different* plate must beat the first doubt by DOUBT_GAP.
        base = LINE_ASPECT * crop.shape[0] / max(crop.shape[1], 1)
        if base > 1.0 and (d is None or d.score < self.threshold):
            d2, views2 = self._views_decoded(crop, base)
            if _overrules(d2, d):
                d, views = d2, views2
        if d is None or d.score < self.threshold:
            # Slanted characters (a plate seen from the side and below): straightened, the
            # line is read again.
            src = wide if wide is not None else crop
            if SHEAR_MIN <= abs(slant := _slant(src)) <= SHEAR_MAX:
                d3, views3 = self._transformed_decoded(_text_band(_unslanted(src, slant)))
                if _overrules(d3, d):
                    d, views = d3, views3
        if d is None or d.score < self.threshold:
            # Sensor noise or JPEG blocks over small characters: smoothed within each stroke
            # and ground (a bilateral filter keeps the edges between them), the line is read
            # again (smoothing a small 藏 without the transformed image's stricter reading had
            # made it a sure 皖). Field dev set under camera variations: plates with noise
            # 69 -> 73 of 87, crops at JPEG q35 106 -> 113 and with noise 126 -> 129 of 134;
            # wrong-but-valid 19 -> 16 in all.
            diameter, sigma_colour, sigma_space = DENOISE
            d4, views4 = self._transformed_decoded(cv2.bilateralFilter(crop, diameter, sigma_colour, sigma_space))
            if _overrules(d4, d):
                d, views = d4, views4
        return d, views

    def _transformed_decoded(self, image: np.ndarray) -> tuple[Decoded | None, list[Sequence[Step]]]:
        """A line image we transformed on an estimate (straightened, smoothed), decoded from every
        view with the province held to PROVINCE_EVIDENCE; what one view reads alone (S for a
        small blurred 8) is not enough: unless the views agree, it stays a doubt for the officer."""
        d, views = self._views_decoded(image, 1.0, every=True)
        if d is not None and not self._views_agree(views, d.text):
            d = Decoded(d.text, min(d.confidence, 0.5), d.margin)
        return d, views

    def _views_decoded(
        self, crop: np.ndarray, base: float, every: bool = False, more: bool = True
    ) -> tuple[Decoded | None, list[Sequence[Step]]]:
        """One view settles a line the recogniser is sure of; the others are read only for
        doubt (`more` False: never). `every`: all views always, and the province held to
        PROVINCE_EVIDENCE (a straightened line: an image transformed on an estimate)."""
        views: list[Sequence[Step]] = [self.engine.recognise_chars(crop, stretch=base * VIEW_STRETCHES[1])]
        d = decode_plate(views[0], self.latin_patterns)
        if every or (more and (d is None or d.score < SURE)):
            views += [
                self.engine.recognise_chars(crop, stretch=base * f) for f in VIEW_STRETCHES if f != VIEW_STRETCHES[1]
            ]
            floor = PROVINCE_EVIDENCE if every else EVIDENCE
            d = decode_plate(merge_views(views), self.latin_patterns, province_evidence=floor)
        return d, views

    def _views_agree(self, views: Sequence[Sequence[Step]], text: str) -> bool:
        """Whether every view that `merge_views` averages (those with the most common number of
        characters) decodes on its own to `text`."""
        counts = [len(slot_steps(v)) for v in views]
        n = max(set(counts), key=lambda k: (counts.count(k), k))
        decoded = [decode_plate(v, self.latin_patterns) for v, k in zip(views, counts, strict=True) if k == n]
        return all(d is not None and d.text == text for d in decoded)

    def _crop_candidates(self, crop: np.ndarray, one_row: bool, two_rows: bool) -> list[tuple[str, float]]:
        out = self.engine.recognise([crop]) if one_row else []
        if two_rows:
            (top, st), (low, sl) = self.engine.recognise(list(_crop_rows(crop)))
            out += [(top + low, min(st, sl)), (low, sl)]
        return out

    def _best(self, cands: Iterable[tuple[str, float]]) -> PlateRead:
        best: tuple[str, float, str] | None = None
        fallback: tuple[str, float] | None = None
        for text, score in cands:
            plate = normalise_plate(text, self.latin_patterns)
            if plate is not None:
                # Corrections cost a little confidence: they are inferences, not readings.
                conf = score * (0.97 if plate != clean(text) else 1.0)
                # Among confident reads the longest wins: "GE897" alone is a valid Latin plate
                # but is only the lower row of 晋NGE897.
                t = self.threshold
                if best is None or _rank(plate, conf, t) > _rank(best[0], best[1], t):
                    best = (plate, conf, text)
            elif len(clean(text)) >= 5 and (fallback is None or score > fallback[1]):
                fallback = (text, score)
        if best is not None:
            plate, conf, raw = best
            if conf < self.threshold:
                return PlateRead(text=None, confidence=conf, valid=False, raw=raw)
            kind = plate_kind_of(plate, self.latin_patterns)
            return PlateRead(text=plate, confidence=conf, valid=True, raw=raw, kind=kind)
        if fallback is not None:
            # Not a plate by the grammar (a timestamp, a sign, a plate missing a character): the
            # officer keys it; what OCR saw stays in `raw`.
            raw, conf = fallback
            return PlateRead(text=None, confidence=conf, valid=False, raw=raw)
        return PlateRead(text=None, confidence=0.0, valid=False)


def _may_be_plate_line(text: str) -> bool:
    """Whether a line's plain reading that breaks the grammar is worth decoding from the
    recogniser's alternatives (40-150 ms): of plate length, holding no more Chinese characters
    than a plate can (a shop sign), and not starting with two digits. A plate starts with a
    province and a letter; a line read as two digits there is a date, a counter or a phone
    number (field 077: '0010912' on a shop front), and a plate whose first two characters were
    both misread as digits would be a guess anyway."""
    c = clean(text)
    return len(c) in (7, 8) and sum(map(is_cjk, text)) <= MAX_PLATE_CJK and not c[:2].isdigit()


def _read_as_is(raw: str, text: str | None) -> bool:
    """Whether a line's plain top reading is the plate the grammar decoded, as read: the same
    characters, or the same length and province with one character taken from the recogniser's
    alternatives (a Q read as O, 领 read as its look-alike 锁: field 031 and 069). Not a character
    the decoding inserted (a tow hook hid a digit: 川C2845 decoded 川MC2845) nor a province it
    filled in: for those the line's usual cut decides (_line_verified)."""
    if text is None or len(raw) != len(text) or raw[:1] != text[:1]:
        return False
    return sum(a != b for a, b in zip(raw, text, strict=True)) <= 1


def _no_character(c: str) -> bool:
    """A mark no plate character is read as (a quote, a dot: a rivet, a bolt); 」 is a J."""
    return not c.isalnum() and letter_slot(c) is None and province_of(c) is None


def _second_reading(again: PlateRead, first: PlateRead) -> PlateRead:
    """A frame read again (enlarged, deblurred) after its first reading settled nothing: the
    second reading wins if valid or surer."""
    return again if again.valid or again.confidence > first.confidence else first


def _unsure(r: PlateRead) -> PlateRead:
    """A reading held back from the lane (something stands against it): the officer decides."""
    return r.model_copy(update={"text": None, "valid": False, "kind": None, "confidence": min(r.confidence, 0.5)})


def _with_margin(crop: np.ndarray, by: float) -> np.ndarray:
    """The crop inside a border `by` of its height wide, in its median colour (the plate's)."""
    m = max(1, round(by * crop.shape[0]))
    return cv2.copyMakeBorder(crop, m, m, m, m, cv2.BORDER_CONSTANT, value=[int(c) for c in _median_colour(crop)])


def _contradicts(text: str, chars: Sequence[tuple[str, float]], opinion: tuple[str, float] | None) -> bool:
    """Whether the plate network reads a valid plate crop otherwise: its sure body (`opinion`)
    differs, or it reads a letter, at NET_LETTER, where the plate's body has a digit. PP-OCR, a
    general recogniser, sees the plate font's T, C and D as 1 and 0 on small or compressed
    lines; the network, trained on that font, draws them apart (and its own slips go the other
    way: a T read as 1). Letters for digits, field crops under the fourteen camera variations:
    wrong-but-valid 6 -> 3 (021's T, 068's T, 069's C), exact 1,643 -> 1,642 (a 0 read as D
    at 0.80)."""
    if len(text) != len(chars):
        return False
    if opinion is not None and text[1:] != opinion[0]:
        return True
    return any(
        t.isdigit() and c.isascii() and c.isalpha() and p >= NET_LETTER
        for t, (c, p) in zip(text[1:], chars[1:], strict=True)
    )


def _net_fits(body: str, net_body: str, lookalike: bool) -> bool:
    """Whether a plate body PP-OCR read is the network's sure one (`net_body`), or, with
    `lookalike`, is it but for one serial digit where the network reads the letter it looks like
    whole (DIGIT_LOOKALIKES: PP-OCR, a general recogniser, sees the plate font's D and T as 0 and
    1 on small crops; the network, trained on that font, draws them apart)."""
    i = _sole_difference(body, net_body)
    return body == net_body or (
        lookalike and i is not None and i > 0 and net_body[i] in DIGIT_LOOKALIKES.get(body[i], "")
    )


def _sole_difference(a: str, b: str) -> int | None:
    """The one position where two strings of one length differ; None if they differ at none or
    at several, or are of different lengths."""
    differ = [i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y]
    return differ[0] if len(a) == len(b) and len(differ) == 1 else None


def _net_may_know(text: str) -> bool:
    """Whether the plate network is asked about a valid read (_net_rival): a province with a
    look-alike, or a letter in the serial."""
    return any(text[0] in pair for pair in LOOKALIKE_PROVINCES) or any(c.isalpha() for c in text[2:] if c.isascii())


def _net_rival(text: str, chars: Sequence[tuple[str, float]], digits: bool = True) -> str | None:
    """The plate the network reads instead of a valid read `text`, where it knows better than
    PP-OCR: the province's look-alike at NET_LOOKALIKE; with `digits`, a digit at NET_DIGIT for
    one letter of the serial that does not look like it, the rest of the body read alike. None
    where it does not. Not `digits` on a plate crop: on 94 x 24 px the network reads the
    serial's R, G, E and A as 8, 6, 6 and 4 (field crops under the 11 mild variations: 8 right
    reads lost, none wrong caught)."""
    if not chars:
        return None
    c, p = chars[0]
    if p >= NET_LOOKALIKE and c != text[0] and any({c, text[0]} <= pair for pair in LOOKALIKE_PROVINCES):
        return c + text[1:]
    if text[0] in TAKEN_FOR and c != text[0]:
        return TAKEN_FOR[text[0]] + text[1:]
    # The body alike but for one serial character; the network's province is not compared.
    body = _sole_difference(text[1:], "".join(ch for ch, _ in chars[1:])) if digits else None
    if body is None or body < 1:
        return None
    i = body + 1
    (n, q), t = chars[i], text[i]
    if t.isascii() and t.isalpha() and n.isdigit() and q >= NET_DIGIT and t not in DIGIT_LOOKALIKES.get(n, ""):
        return text[:i] + n + text[i + 1 :]
    return None


def _differs_at(line: str, text: str) -> list[int]:
    """Where two readings of one plate line name different characters of their slot: two
    provinces, a city letter the line read as a letter, serial letters or digits as the grammar
    reads them (`body_slot`: O and I are 0 and 1 there). Readings of different lengths are not
    compared."""
    if len(line) != len(text):
        return []
    at = [0] if province_of(line[0]) not in (None, text[0]) else []
    if line[1] != text[1] and line[1].isascii() and letter_slot(line[1]) == line[1]:
        at.append(1)
    serial = [(body_slot(a), body_slot(b)) for a, b in zip(line[2:], text[2:], strict=True)]
    return at + [i for i, (a, b) in enumerate(serial, start=2) if a is not None and b is not None and a != b]


def sure_body(chars: Sequence[tuple[str, float]]) -> tuple[str, float] | None:
    """The plate network's body (all but the province) and its weakest character's probability,
    if it read a whole plate and every body character is NET_SURE; else None."""
    sure = min((p for _, p in chars[1:]), default=0.0)
    if len(chars) < 7 or sure < NET_SURE:
        return None
    return "".join(c for c, _ in chars[1:]), sure


def _crop_shadow(crop: np.ndarray) -> ShadowEdge | None:
    """A shadow's edge across a plate crop, looked for enlarged CROP_SHADOW_ENLARGE times (the
    search needs a frame of SEARCH_FROM px; the edge's angle and place, shares of the width,
    hold for the crop as it is). A larger crop was searched as it is (shadow_edge)."""
    if max(crop.shape[:2]) >= SEARCH_FROM:
        return None
    return shadow_edge(enlarged(crop, max(crop.shape[:2]) * CROP_SHADOW_ENLARGE))


def _crop_shaped(h: int, w: int) -> bool:
    """Whether an image is shaped like a plate crop rather than a scene."""
    return max(h, w) <= 640 and 1.4 <= w / h <= 6.0


def is_one_row_crop(h: int, w: int) -> bool:
    """Whether an image is shaped like a crop of a one-row plate (what plate_net reads)."""
    return _crop_shaped(h, w) and _may_be_one_row(h, w)


def _may_be_one_row(h: int, w: int) -> bool:
    """Whether a plate-shaped small image may hold a single-row plate (ONE_ROW_CROP)."""
    return w / h >= (ONE_ROW_CROP[0] if h <= LOOSE_CROP_HEIGHT else ONE_ROW_CROP[1])


def colour_agrees(cue: str, plate: str | None) -> bool:
    """Whether a plate read on a region of this paint can be that plate: green paint is a
    new-energy plate (8 characters), blue paint a 7-character one (yellow may be either: large
    new-energy vehicles carry yellow-green plates). A green plate read with 7 characters has
    lost one; it is not reported valid (the officer decides)."""
    if plate is None or cue == "green":
        return plate is None or len(plate) == 8
    return cue != "blue" or len(plate) == 7


def line_paint(crop: np.ndarray) -> str | None:
    """The plate paint behind a text line, only when it is clearly one colour: "blue",
    "yellow" or "green" when at least PAINT_SHARE of the crop is that colour, saturated
    (S >= PAINT_SATURATION, V >= 50), and every other plate colour at most a tenth of it
    (characters are white or black; a new-energy plate's gradient is white at the top).
    None for white, grey or mixed paint (a yellow-green large new-energy plate). A line
    washed out to near white (median V >= 200, S < PAINT_SATURATION) is looked at once more
    darkened by GLARE_PROBE, the darkening that the glare stage trusts to bring paint back."""
    if crop.size == 0:
        return None
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV).reshape(-1, 3)
    paint = _paint_of(hsv)
    if paint is None and float(np.median(hsv[:, 2])) >= 200 and float(np.median(hsv[:, 1])) < PAINT_SATURATION:
        paint = _paint_of(cv2.cvtColor(with_gamma(crop, GLARE_PROBE), cv2.COLOR_BGR2HSV).reshape(-1, 3))
    return paint


def _paint_of(hsv: np.ndarray) -> str | None:
    h = hsv[:, 0].astype(np.int16)
    saturated = (hsv[:, 1] >= PAINT_SATURATION) & (hsv[:, 2] >= 50)
    share = {
        name: float(np.count_nonzero(saturated & (h >= lo[0]) & (h <= hi[0]))) / max(len(h), 1)
        for name, (lo, hi) in PLATE_COLOURS.items()
    }
    name, top = max(share.items(), key=lambda t: t[1])
    if top >= PAINT_SHARE and all(v <= 0.1 * top for k, v in share.items() if k != name):
        return name
    return None


def paint_agrees(paint: str | None, kind: str | None) -> bool:
    """Whether a plate of grammar `kind` can carry `paint`: blue and yellow paint are not a
    new-energy plate (8 characters), green paint is not a 7-character one. Unknown paint or a
    Latin plate decides nothing."""
    if paint is None or kind not in ("new_energy", "standard", "trailer"):
        return True
    return (kind == "new_energy") == (paint == "green")


def paint_checked(r: PlateRead, crop: np.ndarray) -> PlateRead:
    """A valid read whose kind its line's paint contradicts (a washed-out blue plate read as
    the 8-character 川AAM1186 at 0.97) is not reported valid: the officer decides."""
    if not r.valid or paint_agrees(line_paint(crop), r.kind):
        return r
    return _unsure(r)


def _median_colour(image: np.ndarray) -> np.ndarray:
    """The image's median colour per channel: on a plate cut, its paint (characters are the
    minority of pixels)."""
    return np.asarray(np.median(image.reshape(-1, image.shape[2] if image.ndim == 3 else 1), axis=0))


def _same_paint(a: np.ndarray, b: np.ndarray, tolerance: float = 60.0) -> bool:
    """Median colours (the background: characters are the minority of pixels) within
    `tolerance` in BGR, after removing overall brightness differences of at most 35 %."""
    if a.size == 0 or b.size == 0:
        return False
    ma, mb = _median_colour(a).astype(np.float32), _median_colour(b).astype(np.float32)
    gain = float(np.clip(mb.sum() / max(float(ma.sum()), 1.0), 0.65, 1.35))
    return float(np.linalg.norm(ma * gain - mb)) <= tolerance


def _crop_rows(crop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A double-row plate crop's upper (province + letter) and lower (five) rows."""
    cut = int(crop.shape[0] * TWO_ROW_CUT)
    return crop[:cut], crop[cut:]


def _small_regions(frame: np.ndarray) -> list[Region]:
    """Plate-shaped regions SMALL_WIDTHS of the frame wide, located at twice the usual working
    width so that such a plate is as large there as a near one is at the usual width."""
    return plate_regions(frame, limit=3, widths=SMALL_WIDTHS, work_width=2 * WORK_WIDTH)


def _overlap(a: Region, b: Region) -> float:
    """Intersection over the smaller box."""
    ix = max(0, min(a.x1, b.x1) - max(a.x0, b.x0))
    iy = max(0, min(a.y1, b.y1) - max(a.y0, b.y0))
    return ix * iy / max(min(a.width * a.height, b.width * b.height), 1)


def _wide_crop(frame: np.ndarray, ln: TextLine) -> np.ndarray | None:
    """The line's crop with SHEAR_GROW line-heights more at each end, or None if empty."""
    crop = line_crop(frame, TextLine(tuple((float(x), float(y)) for x, y in _grown(ln, SHEAR_GROW)), "", 0.0), 0.0)
    return crop if crop.size else None


def _slant(crop: np.ndarray) -> float:
    """The characters' slant (horizontal shift per row, tan of the lean) in a line crop: the
    shear under which the vertical strokes line up best (the column sums of the horizontal
    gradient are most concentrated). About 3 ms on a plate line."""
    g = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    h, w = g.shape[:2]
    if h < 8 or w < 16:
        return 0.0
    gx = np.abs(cv2.Sobel(g.astype(np.float32), cv2.CV_32F, 1, 0, ksize=3))
    best, best_score = 0.0, -1.0
    for s in np.linspace(-SHEAR_MAX, SHEAR_MAX, 33):
        m = np.array([[1.0, s, -s * h / 2], [0.0, 1.0, 0.0]], dtype=np.float32)
        col = cv2.warpAffine(gx, m, (w, h)).sum(axis=0)
        score = float(np.square(col).sum())
        if score > best_score:
            best, best_score = float(s), score
    return best


def _unslanted(crop: np.ndarray, slant: float) -> np.ndarray:
    """The crop sheared by `slant` so that its characters stand upright, widened to keep the
    corners."""
    h, w = crop.shape[:2]
    pad = int(abs(slant) * h / 2) + 1
    m = np.array([[1.0, slant, -slant * h / 2 + pad], [0.0, 1.0, 0.0]], dtype=np.float32)
    # The corners are filled with the crop's median colour (mostly the plate's paint): a
    # replicated border smears the plate's edge into strokes the recogniser reads as an L.
    fill = tuple(float(v) for v in _median_colour(crop))
    return cv2.warpAffine(
        crop, m, (w + 2 * pad, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT, borderValue=fill
    )


def _text_band(crop: np.ndarray, floor: float = 0.35, pad: float = 0.12) -> np.ndarray:
    """The rows of the crop that hold the characters: the run of rows around the busiest one
    whose vertical-stroke energy is at least `floor` of it, padded by `pad` of its height. A
    leaning plate's rectified box is much taller than its text (the corners of the rotated
    box); the recogniser scales every line to 48 px high, so the spare rows cost resolution."""
    g = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    h = g.shape[0]
    prof = np.abs(cv2.Sobel(g.astype(np.float32), cv2.CV_32F, 1, 0, ksize=3)).sum(axis=1)
    prof = np.convolve(prof, np.ones(3) / 3, "same")
    on = prof >= floor * float(prof.max())
    a = b = int(np.argmax(prof))
    while a > 0 and on[a - 1]:
        a -= 1
    while b < h - 1 and on[b + 1]:
        b += 1
    p = int((b - a + 1) * pad) + 1
    band = crop[max(a - p, 0) : min(b + 1 + p, h)]
    return band if band.shape[0] >= 8 else crop


def _grown(ln: TextLine, by: float) -> np.ndarray:
    """The line's quadrilateral lengthened by `by` line-heights at each end."""
    tl, tr, br, bl = (np.array(p, dtype=np.float32) for p in ln.box)
    h = float(np.linalg.norm(bl - tl))
    v = (tr - tl) / max(float(np.linalg.norm(tr - tl)), 1.0) * by * h
    return np.array([tl - v, tr + v, br + v, bl - v], dtype=np.float32)


def _strip_above(frame: np.ndarray, ln: TextLine, above: float, below: float, trim: float = 0.1) -> np.ndarray:
    """The band from `above` line-heights over the line's top edge to `below` under it,
    rectified along the line's slant and trimmed by `trim` of its length at each end."""
    tl, tr, _br, bl = (np.array(p, dtype=np.float32) for p in ln.box)
    h = float(np.linalg.norm(bl - tl))
    w = float(np.linalg.norm(tr - tl))
    if h < 4 or w < 8:
        return np.zeros((0, 0, 3), np.uint8)
    n = (bl - tl) / h
    v = (tr - tl) * trim
    a, b = tl + v, tr - v
    src = np.array([a - n * above * h, b - n * above * h, b + n * below * h, a + n * below * h], dtype=np.float32)
    ow, oh = int((1.0 - 2 * trim) * w), int((above + below) * h)
    if ow < 8 or oh < 8:
        return np.zeros((0, 0, 3), np.uint8)
    m = cv2.getPerspectiveTransform(src, np.array([[0, 0], [ow, 0], [ow, oh], [0, oh]], dtype=np.float32))
    return cv2.warpPerspective(frame, m, (ow, oh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _as_one_line(upper: np.ndarray, lower: np.ndarray, gap: float = 0.15) -> np.ndarray:
    """A double-row plate's two rows set side by side as one line: the upper row scaled to the
    lower row's height, then a gap of `gap` heights in the plate's paint, then the lower row."""
    h = lower.shape[0]
    up = cv2.resize(upper, (max(round(upper.shape[1] * h / upper.shape[0]), 1), h), interpolation=cv2.INTER_CUBIC)
    paint = tuple(int(v) for v in _median_colour(lower))
    space = np.full((h, max(round(gap * h), 1), 3), paint, np.uint8)
    return np.hstack([up, space, lower])


def _runs_out(box: np.ndarray, roi: Region, frame_width: int) -> bool:
    """Whether a detected line reaches a side of the region it was detected in, where that side
    is not the frame's."""
    x0, x1 = float(box[:, 0].min()), float(box[:, 0].max())
    near = RUN_ON * roi.width
    return (roi.x0 > 0 and x0 <= roi.x0 + near) or (roi.x1 < frame_width and x1 >= roi.x1 - near)


def _aspect(box: np.ndarray) -> float:
    """Length over height of a detector quadrilateral, measured along its text."""
    w = max(float(np.linalg.norm(box[1] - box[0])), float(np.linalg.norm(box[2] - box[3])))
    h = max(float(np.linalg.norm(box[3] - box[0])), float(np.linalg.norm(box[2] - box[1])))
    return w / max(h, 1.0)


def _overrules(new: Decoded | None, first: Decoded | None) -> bool:
    """Whether a retry's decoding of a line replaces the first one: a surer reading of the same
    plate, or a *different* plate that beats the first doubt by DOUBT_GAP."""
    if new is None or first is None:
        return new is not None
    return new.score > first.score and (new.text == first.text or new.score >= first.score + DOUBT_GAP)


def _rank(plate: str, conf: float, threshold: float) -> tuple[bool, int, float]:
    return (conf >= threshold, len(plate), conf)
