"""Container-number reading: OCR the door, assemble ISO 6346 candidates, verify the check digit."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np

from kakou.models.checkbox import line_crop, read_boxed_digit
from kakou.models.constrained import (
    SURE,
    Decoded,
    Step,
    decode_container,
    decode_other_category,
    merge_views,
    slot_steps,
    top_text,
    without_bar,
)
from kakou.models.imageio import ImageError, as_frame, deblurred, enlarged, is_blank, motion_blur, unveiled
from kakou.models.iso6346 import OTHER_CATEGORIES, check_digit, format_code, is_valid, make_code, normalise
from kakou.models.locate import Region, text_rows
from kakou.models.ocr import OcrEngine, TextLine, shared_engine
from kakou.models.orientation import turn_to_read, turned
from kakou.models.reading import Read, candidates, row_groups, vote
from kakou.models.shadow import shadow_edge, unshadowed
from kakou.models.vertical import MIN_TILT, column_as_line, column_tilt, columns, upright

__all__ = [
    "ContainerRead",
    "ContainerReader",
    "check_digit",
    "format_code",
    "is_valid",
    "make_code",
    "normalise",
]

DEFAULT_THRESHOLD = 0.80
MAX_LINES = 16  # whole-frame lines recognised after the two tallest
# ... and only lines at least LINE_FLOOR of the tallest's height. The code is painted at least
# 100 mm high, but a carrier's logo on the side can be six times that: 013's SITC is 140 px
# where the code on the door is 24 (0.17; at 0.2 the code was never read).
LINE_FLOOR = 0.15
REST_CHUNK = 4  # of those, recognised this many at a time until a valid code appears
MAX_GROUPS = 6  # layout groups re-read per frame (one recognition per line each)
CHECK_REACH = 2.0  # line-heights the serial's crop is extended over the check box
GLANCE_SIDE = 480  # whole-frame detection looking for a larger code than the one a band gave
LARGER = 1.25  # a code's text this much taller than another's is a nearer container's; within it, as large
# A frame under ZOOM_BELOW px that gave no code is read again enlarged twice, to ZOOM_SIDE..ZOOM_MAX
# on its long side (a 313 px crop read at 720 and not at 960: its characters grew too soft).
ZOOM_BELOW = 700
ZOOM_SIDE = 720
ZOOM_MAX = 960
# A whole-frame line that is a piece of a code (an owner code and part of its serial, or a serial):
# up to MAX_PIECES are looked at again, enlarged so their characters are PIECE_HEIGHT px.
_PIECE = re.compile(r"[A-Z]{3}[UJZ][0-9]{0,5}|[0-9]{6,7}")
MAX_PIECES = 2
PIECE_HEIGHT = 40
ROI_SCALE = 0.6  # a located code band is detected at 60 %: 43-61 px characters become 26-37 px
_SIZE_TYPE = re.compile(r"^[1-9L][0-9A-Z][A-Z][0-9A-Z]$")  # e.g. 45G1, 22G1, L5R1
_ALNUM = re.compile(r"[^0-9A-Z]")
# Owner+serial without the check digit, before confusion fixes (position-mapped later).
_OWNER_SERIAL = re.compile(r"^[0-9A-Z]{3}[UJZ][0-9A-Z]{6}$")
# A plain reading that may be a code with another category letter (constrained.OTHER_CATEGORIES).
_OTHER_SHAPED = re.compile(r"^[A-Z]{4}[0-9]{6,7}$")


class ContainerRead(Read):
    size_type: str | None = None  # ISO 6346 size/type code when seen, e.g. "45G1"
    # Valid codes of other, smaller containers in view that were not taken for this one; with no
    # text, the codes of about the same size between which the reader could not choose.
    also_seen: tuple[str, ...] = ()


class ContainerReader:
    """Reuse one instance: it shares the process-wide OCR engine; `read` is thread-safe."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, engine: OcrEngine | None = None) -> None:
        self.threshold = threshold
        self._engine = engine

    @property
    def engine(self) -> OcrEngine:
        if self._engine is None:
            self._engine = shared_engine()
        return self._engine

    def read(self, image: np.ndarray) -> ContainerRead:
        """Detect at 640 px, recognise the tallest lines first (the code is the largest marking)
        and stop as soon as a check-digit-valid code appears; retry at 960 px if none does."""
        try:
            frame = as_frame(image)
        except ImageError as exc:
            return ContainerRead(text=None, confidence=0.0, valid=False, error=str(exc))
        if is_blank(frame):
            return ContainerRead(text=None, confidence=0.0, valid=False, error="blank image")
        pieces: list[TextLine] = []
        best = self._read_frame(frame, pieces)
        h, w = frame.shape[:2]
        around = frame
        if not best.valid and max(h, w) < ZOOM_BELOW:
            # A small crop or a far camera (a code of 8-12 px characters): the detector, which
            # never enlarges, finds nothing or only specks in it. Read once more enlarged.
            # Its pieces of a code are then the enlarged frame's, read around there (below).
            around = enlarged(frame, min(ZOOM_MAX, max(ZOOM_SIDE, 2 * max(h, w))))
            pieces.clear()
            best = _preferred(self._read_frame(around, pieces), best)
        if not best.valid and not best.also_seen and (blur := motion_blur(frame))[0]:
            # A container passing a camera, blurred along the rows or columns: the detector loses the
            # code's strokes. Last, the frame deblurred (imageio.motion_blur / deblurred) is read
            # once more (field dev containers blurred by 8 px at 1920 px: 30 -> 33 of 37). Not
            # where codes were read that left the lane's undecided (also_seen): the officer's.
            best = _preferred(self._read_frame(deblurred(frame, *blur)), best)
        if not best.valid and not best.also_seen and (clear := unveiled(frame)) is not frame:
            # Veiled by fog or a dirty window: the frame stretched back to the full range
            # (imageio.unveiled; any other frame comes back as it is), read once more (rendered
            # scenes under a veil of 0.9 read only so; field dev containers under a veil of
            # half: 36 of 37 either way).
            best = _preferred(self._read_frame(clear), best)
        if not best.valid and not best.also_seen and (edge := shadow_edge(frame)) is not None:
            best = _preferred(self._read_frame(unshadowed(frame, edge)), best)
        if not best.valid and not best.also_seen:
            # A code that is a small share of a large frame (a wide gate camera, a container further
            # off): the whole-frame passes saw a piece of it (the owner code, the serial) but not
            # the rest. Last, the frame around each piece is read enlarged (field dev containers in
            # a view twice as wide: 34 -> 35 of 37; farther, 0.7x: 32 -> 33; nothing else changed
            # under the nineteen variations, 0 wrong). A small frame's pieces, found enlarged, are
            # read around on the enlarged frame (013 and 024 under the mild variations: 2 more).
            for piece in sorted(pieces, key=lambda ln: -ln.score)[:MAX_PIECES]:
                best = _preferred(self._read_frame(_around_piece(around, piece)), best)
                if best.valid:
                    break
        if not best.valid and not best.also_seen and (turn := turn_to_read(self.engine, frame)) is not None:
            best = _preferred(self._read_frame(turned(frame, turn)), best)
        return best

    def _read_frame(self, frame: np.ndarray, pieces: list[TextLine] | None = None) -> ContainerRead:
        """The frame's code (see read); `pieces`, if given, receives the whole-frame lines that
        are pieces of a code (_PIECE) when no code was read."""
        h, w = frame.shape[:2]
        best = ContainerRead(text=None, confidence=0.0, valid=False)
        any_boxes = False
        # Cheap stage: bands of large text found classically; the detector runs only on a
        # region around each (code line, its check box and the size/type line below).
        found: list[tuple[float, ContainerRead]] = []  # valid codes with their text height
        for band in text_rows(frame, limit=2):
            roi = Region(
                max(band.x0 - band.width // 12, 0),
                max(band.y0 - band.height // 2, 0),
                min(band.x1 + band.width // 8, w),
                min(band.y1 + int(2.4 * band.height), h),
                band.cue,
                band.score,
            )
            side = min(max(int(max(roi.width, roi.height) * ROI_SCALE), 160), 640)
            boxes = self.engine.detect_region(frame, roi.box, side)
            if not boxes:
                continue
            any_boxes = True
            # Lines at least half as tall as the tallest: the code and the size/type code, not
            # the small print.
            tall = [b for b in boxes if _box_h(b) >= 0.5 * _box_h(boxes[0])][:4]
            r = self._read_boxes(frame, tall)
            if r.valid:
                found.append((_box_h(tall[0]), r))
            elif r.confidence > best.confidence or (best.raw is None and r.raw is not None):
                best = r
        if found:
            # Several containers in view: the one in the lane is the nearest, its code the
            # largest marking. A band's code stands unless the whole frame holds a clearly
            # taller line of text (a code that the band stage did not locate).
            height, r = max(found, key=lambda f: f[0])
            glance = self.engine.detect(frame, GLANCE_SIDE)
            if not any(_box_h(b) > 1.35 * height and _box_w(b) > 3 * _box_h(b) for b in glance):
                others = tuple(sorted({f.text for _, f in found if f.text and f.text != r.text}))
                if any(f.text != r.text and h >= height / LARGER for h, f in found):
                    return _undecided(r, others)  # as large as each other: see from_lines
                return r.model_copy(update={"also_seen": others}) if others else r
        for side in (640, 960):
            boxes = self.engine.detect(frame, side)
            any_boxes = any_boxes or bool(boxes)
            lines: list[TextLine] = []
            # Small print (data plates, CSC plate, weights in small type) cannot be the code, which
            # is painted at least 100 mm high: lines under LINE_FLOOR of the tallest are not read.
            rest = [b for b in boxes[2:] if _box_h(b) >= LINE_FLOOR * _box_h(boxes[0])][:MAX_LINES]
            first = boxes[:2]
            # The rest is recognised tallest first, REST_CHUNK lines at a time, with a plain check
            # (candidates and the check digit, no extra recognitions) after each chunk: the code
            # is among the larger markings, and the small print behind it costs ~8 ms a line.
            # The full check (constrained decoding, check box) runs on the two tallest and once
            # all lines are read, as before.
            chunks = [first] + [rest[i : i + REST_CHUNK] for i in range(0, len(rest), REST_CHUNK)]
            seen: set[tuple[int, ...]] = set()  # code-shaped groups already given the full check
            for k, chunk in enumerate(chunks):
                if not chunk:
                    continue
                lines += self.engine.recognise_boxes(frame, chunk)
                groups = {tuple(id(ln) for ln in g) for g in code_groups(lines)}
                if 0 < k < len(chunks) - 1:
                    # The code's check digit is usually boxed and missed by the plain reading: a
                    # new code-shaped group (owner and serial, 9-12 characters) gets the full
                    # check at once instead of after the small print behind it.
                    if not groups - seen and not self.from_lines(lines).valid:
                        continue
                fresh = groups - seen
                seen |= groups
                r = self.from_lines(lines, frame)
                if r.valid:
                    return r
                if fresh and 0 < k < len(chunks) - 1:
                    # A new group with another category letter, read strictly (every character
                    # sure, check digit agreeing): the lines not yet read are all smaller than
                    # it, and a smaller code is a container further away.
                    o = self._other_category(frame, lines, r.size_type or best.size_type)
                    if o is not None:
                        return o
                if r.confidence > best.confidence or (best.raw is None and r.raw is not None):
                    best = r
            o = self._other_category(frame, lines, best.size_type)
            if o is not None:
                return o
            if boxes:
                # Only after every line failed: a stretched second reading of the two tallest.
                r = self._stretched(frame, first, best, lines[:2])
                if r.valid:
                    return r
                best = r
            v = self._vertical(frame, boxes)
            if v is not None and v.valid:
                return v
            if v is not None and v.confidence > best.confidence:
                best = v
            if pieces is not None:  # the last (largest) pass's
                pieces[:] = [ln for ln in lines if _PIECE.fullmatch(_flat(ln.text))]
            if side >= max(h, w):
                break  # already at full resolution
        if not any_boxes and max(h, w) <= 640:
            # A tight crop of the code can defeat the detector; read it as one line.
            ((t, sc),) = self.engine.recognise([frame])
            best = self.from_lines([TextLine(((0, 0), (w, 0), (w, h), (0, h)), t, sc)])
        return best

    def _vertical(self, frame: np.ndarray, boxes: list[np.ndarray]) -> ContainerRead | None:
        """A code painted one character per row (vertical.py), read as one line; if no valid
        code comes of it and the column leans (vertical.column_tilt), read again with the frame
        turned upright around it (the field dev set's three vertical codes, turned 8 degrees
        either way: 3 of 6 frames -> 5 of 6; ~10 ms for the turn, only on frames that got here)."""
        r = self._vertical_columns(frame, boxes)
        if r is not None and r.valid:
            return r
        tilt = column_tilt(boxes)
        if abs(tilt) < MIN_TILT:
            return r
        again = self._vertical_columns(*upright(frame, boxes, tilt))
        if again is not None and (again.valid or r is None or again.confidence > r.confidence):
            return again
        return r

    def _vertical_columns(self, frame: np.ndarray, boxes: list[np.ndarray]) -> ContainerRead | None:
        best: ContainerRead | None = None
        garbage: set[tuple[int, int, int, int]] = set()
        for col, inset in ((c, i) for c in columns(boxes, frame.shape)[:2] for i in (False, True)):
            line = None if col in garbage else column_as_line(frame, col, inset_last=inset)
            if line is None:
                continue
            # The cells are laid out by us, so their spacing is arbitrary: three spacings of the
            # line vote per character (merge_views), as the plate views do. A column whose
            # plain spacing reads nowhere near eleven characters (a column of other markings:
            # size/type, labels) is not worth the other two, nor its inset variant.
            plain = self.engine.recognise_chars(line)
            if not 9 <= len(slot_steps(plain)) <= 13:
                garbage.add(col)
                continue
            views = [
                self.engine.recognise_chars(line, stretch=0.85),
                plain,
                self.engine.recognise_chars(line, stretch=1.2),
            ]
            d = decode_container(merge_views(views))
            if d is not None:
                r = self._decoded(d, top_text(views[0]), None)
                if r.valid:
                    return r
                best = r if best is None or r.confidence > best.confidence else best
        return best

    def _read_boxes(self, frame: np.ndarray, boxes: list[np.ndarray]) -> ContainerRead:
        lines = self.engine.recognise_boxes(frame, boxes)
        r = self.from_lines(lines, frame)
        return r if r.valid else self._stretched(frame, boxes, r, lines)

    def _stretched(
        self, frame: np.ndarray, boxes: list[np.ndarray], first: ContainerRead, lines: Sequence[TextLine]
    ) -> ContainerRead:
        """Second reading of the lines at 2.5 times the width: repeated narrow letters (JJ, IJ)
        merge at the recogniser's time resolution. Still accepted only with a valid check digit.
        A box 1.5 times as tall as long (a code painted one character per row) is read turned
        on its side, where stretching cannot help: it is left to the vertical stage, and its
        stretched crop (the longest of the frame) is not recognised. Nor are lines whose plain
        reading holds nothing code-shaped (`code_groups`: a code that lost one of two repeated
        letters still has 9-12 characters, letters then digits): weights, capacities and
        size/type codes are read once."""
        boxes = [b for b in boxes if _quad_h(b) < 1.5 * _quad_w(b)]
        if not boxes or not code_groups(lines):
            return first
        r = self.from_lines(self.engine.recognise_boxes(frame, boxes, stretch=2.5), frame)
        if r.valid or r.confidence > first.confidence:
            return r
        return first

    def read_many(self, frames: Iterable[np.ndarray]) -> ContainerRead:
        return vote((self.read(f) for f in frames), self.threshold, ContainerRead)

    def read_all(self, image: np.ndarray) -> list[ContainerRead]:
        """Every code in the frame painted as large as the largest (two 20' containers on one
        chassis seen from the side or from above); smaller codes (a container further away) are
        left out. Valid reads only, left to right; `read`'s own read is added first if the
        whole-frame pass missed it."""
        first = self.read(image)
        try:
            frame = as_frame(image)
        except ImageError:
            return []
        # Codes as large as the largest are the big text of the frame: 640 px finds them, and
        # lines under half the tallest are not worth a recognition.
        boxes = self.engine.detect(frame, 640)
        if not boxes:
            return [first] if first.valid else []
        boxes = [b for b in boxes if _box_h(b) >= 0.5 * _box_h(boxes[0])][: MAX_LINES + 2]
        lines = self.engine.recognise_boxes(frame, boxes)
        found: dict[str, tuple[float, float, ContainerRead]] = {}  # text -> (height, x, read)
        for group in code_groups(lines)[: 3 * MAX_GROUPS]:
            r = self._constrained(frame, group, None)
            if r is not None and r.valid and r.text is not None:
                height, x = max(ln.height for ln in group), min(ln.x0 for ln in group)
                if r.text not in found or found[r.text][2].confidence < r.confidence:
                    found[r.text] = (height, x, r)
        if not found:
            return [first] if first.valid else []
        tallest = max(h for h, _, _ in found.values())
        reads = [r for h, _, r in sorted(found.values(), key=lambda f: f[1]) if h >= 0.7 * tallest]
        if first.valid and all(r.text != first.text for r in reads):
            reads.insert(0, first)
        return reads

    def read_codes(self, cameras: Iterable[Sequence[np.ndarray]]) -> list[ContainerRead]:
        """The codes on one vehicle from each camera's frames (rear, left, right): within a
        camera a code's confidence is its summed confidence over the frames that read any code,
        so a code seen in one frame of three stays below the threshold; across cameras the best
        camera counts, since the rear camera cannot see the front container's doors."""
        best: dict[str, ContainerRead] = {}
        for frames in cameras:
            per_frame = [self.read_all(f) for f in frames]
            readable = sum(1 for reads in per_frame if reads) or 1
            weight: dict[str, float] = {}
            for reads in per_frame:
                for r in reads:
                    assert r.text is not None
                    weight[r.text] = weight.get(r.text, 0.0) + r.confidence
                    best.setdefault(r.text, r.model_copy(update={"confidence": 0.0}))
            for text, w in weight.items():
                if w / readable > best[text].confidence:
                    best[text] = best[text].model_copy(update={"confidence": w / readable})
        return [r for r in best.values() if r.confidence >= self.threshold]

    def from_lines(self, lines: Sequence[TextLine], frame: np.ndarray | None = None) -> ContainerRead:
        """Best code among the lines; with `frame`, a 10-character owner+serial line also gets
        its boxed check digit probed (see checkbox.py)."""
        size_type = next((s for ln in lines if _SIZE_TYPE.match(s := _ALNUM.sub("", ln.text.upper()))), None)
        cands = candidates(lines, max_parts=4)
        r = self._pick(cands, size_type)
        if frame is not None and r.valid and r.text is not None:
            # The container in the lane is the nearest, so its code is the largest marking. A
            # code read from smaller text (a container behind, another door) gives way to a
            # taller code-like group that reads under the grammar.
            mine = [ln for ln in lines if len(t := _ALNUM.sub("", ln.text.upper())) >= 3 and t in r.text]
            own = max((ln.height for ln in mine), default=0.0)
            if own and any(ln.height > LARGER * own for ln in lines):
                c = self._constrained(frame, lines, size_type, min_height=LARGER * own)
                if c is not None and c.valid and c.text != r.text:
                    assert r.text is not None
                    return c.model_copy(update={"also_seen": (r.text,)})
            # Another code-shaped group about as large (a tilted camera makes the nearer
            # container's code no taller than the one behind; two 20' containers side by side):
            # if it decodes to another code, size cannot say which is the lane's. The officer
            # decides, shown both (read_all reports both where both belong to the vehicle).
            rivals = [g for g in code_groups(lines) if not set(map(id, g)) & set(map(id, mine))]
            rivals = [g for g in rivals if max(ln.height for ln in g) >= own / LARGER]
            if own and rivals:
                c = self._constrained(frame, [ln for g in rivals for ln in g], size_type)
                if c is not None and c.valid and c.text not in (None, r.text):
                    assert c.text is not None
                    return _undecided(r, (c.text,))
        if frame is not None and not r.valid:
            # Costs a recognition per group: only when the lines alone gave no code.
            c = self._constrained(frame, lines, size_type)
            if c is not None and (c.valid or c.confidence > r.confidence):
                r = c
        if frame is not None and not r.valid:
            # Probing the box costs a recognition; only when the lines alone gave no code.
            r = self._pick(cands + self._with_check_digit(frame, lines), size_type)
        return r

    def _constrained(
        self, frame: np.ndarray, lines: Sequence[TextLine], size_type: str | None, min_height: float = 0.0
    ) -> ContainerRead | None:
        """Each layout group of lines (one row; owner code above the serial) re-read as
        per-character alternatives, the serial's line extended over the check box, and decoded
        under the ISO 6346 grammar with its check digit (constrained.py)."""
        best: tuple[Decoded, str] | None = None
        groups = [g for g in code_groups(lines) if max(ln.height for ln in g) > min_height]
        for group in groups[:MAX_GROUPS]:
            # A group that already has 11 characters may hold its check digit; if the box was
            # missed after all, reach over it as for a 10-character group.
            n = sum(len(_ALNUM.sub("", ln.text.upper())) for ln in group)
            fitted: list[Step] | None = None  # the slots read from the detector's own boxes
            # A group of 10 is read over the box first; if that gave no sure code, the crop
            # fitted to the detector's box (which may read a character the reach read worse,
            # 0 at 0.52 beside 1) is decoded with the digit read from the box (checkbox.py).
            for reach in (0.0, CHECK_REACH) if n >= 11 else (CHECK_REACH, 0.0):
                crops = [line_crop(frame, ln, reach if k == len(group) - 1 else 0.0) for k, ln in enumerate(group)]
                if any(c.size == 0 for c in crops):
                    break
                slots = slot_steps([step for c in crops for step in self.engine.recognise_chars(c)])
                if len(slots) < (11 if reach and n == 10 else min(n, 10)):
                    # Fewer characters than the plain reading had (over the box: than it and
                    # the box's digit): repeated ones (000, JJ) merged at the recogniser's time
                    # resolution. Read 2.5 times as wide. (Field 029 under camera variations:
                    # MCCU 300009 [9] read over its box as MCCU300099, one 0 short and ten
                    # characters like the plain line, so it was never read wider; 3 of 9 lost.)
                    wide = [step for c in crops for step in self.engine.recognise_chars(c, stretch=2.5)]
                    slots = max(slots, slot_steps(wide), key=len)
                tries = [slots]
                if fitted is not None and len(slots) == len(fitted) + 1:
                    # The fitted crop reads the characters best; the reach only adds the box's digit.
                    tries.append([*fitted, slots[-1]])
                fitted = slots if reach == 0.0 else fitted
                for d in filter(None, (self._decode_group(frame, group, t) for t in tries)):
                    if best is None or d.confidence > best[0].confidence:
                        best = (d, " ".join(ln.text for ln in group))
                if best is not None and best[0].confidence >= self.threshold:
                    return self._decoded(*best, size_type)
        return None if best is None else self._decoded(*best, size_type)

    def _other_category(
        self, frame: np.ndarray, lines: Sequence[TextLine], size_type: str | None
    ) -> ContainerRead | None:
        """A code with a category letter other than U/J/Z (RWWL4564317), only when no U/J/Z code
        was read from these lines: the layout groups whose plain reading is such a code are read
        per character (over the check box, and fitted; a dropped boxed digit read from the box
        alone) and accepted only as the recogniser read them, every character sure and the
        check digit agreeing (constrained.decode_other_category)."""
        for group in code_groups(lines)[:MAX_GROUPS]:
            flat = "".join(_ALNUM.sub("", ln.text.upper()) for ln in group)
            if not _OTHER_SHAPED.match(flat) or flat[3] not in OTHER_CATEGORIES:
                continue
            for reach in (0.0, CHECK_REACH) if len(flat) == 11 else (CHECK_REACH,):
                crops = [line_crop(frame, ln, reach if k == len(group) - 1 else 0.0) for k, ln in enumerate(group)]
                if any(c.size == 0 for c in crops):
                    break
                steps = slot_steps([step for c in crops for step in self.engine.recognise_chars(c)])
                if len(steps) == 10:
                    # The recogniser dropped the boxed digit: read the box alone, and only a
                    # sure digit counts (the check digit is then all that verifies the code).
                    digit = read_boxed_digit(self.engine, frame, group[-1])
                    steps = [*steps, [digit]] if digit is not None and digit[1] >= SURE else steps
                d = decode_other_category(steps)
                if d is not None and d.score >= self.threshold:
                    return self._decoded(d, " ".join(ln.text for ln in group), size_type)
        return None

    def _decode_group(self, frame: np.ndarray, group: Sequence[TextLine], slots: list[Step]) -> Decoded | None:
        d = decode_container(slots)
        if d is None and len(slots) == 11:
            slots = without_bar(slots) or slots
        if d is None and len(slots) == 10:
            # The recogniser dropped the boxed digit: read the box alone (checkbox.py).
            digit = read_boxed_digit(self.engine, frame, group[-1])
            if digit is not None:
                d = decode_container([*slots, [digit]])
        return d

    def _decoded(self, d: Decoded, raw: str, size_type: str | None) -> ContainerRead:
        conf = d.score
        if conf < self.threshold:
            return ContainerRead(text=None, confidence=conf, valid=False, raw=raw, size_type=size_type, margin=d.margin)
        return ContainerRead(text=d.text, confidence=conf, valid=True, raw=raw, size_type=size_type, margin=d.margin)

    def _pick(self, cands: list[tuple[str, float]], size_type: str | None) -> ContainerRead:
        best: tuple[str, float, str] | None = None
        near: tuple[str, float] | None = None  # 11 chars of the right shape but failing the check
        for text, score in cands:
            flat = _flat(text)
            code = normalise(flat)
            if code is not None:
                if best is None or score > best[1]:
                    best = (code, score, text)
            elif len(flat) == 11 and (near is None or score > near[1]):
                near = (text, score)
        if best is not None:
            code, conf, raw = best
            if conf < self.threshold:
                return ContainerRead(text=None, confidence=conf, valid=False, raw=raw, size_type=size_type)
            return ContainerRead(text=code, confidence=conf, valid=True, raw=raw, size_type=size_type)
        if near is not None:
            # A check-digit failure is never passed on as a code: the officer keys it.
            return ContainerRead(text=None, confidence=near[1], valid=False, raw=near[0], size_type=size_type)
        return ContainerRead(text=None, confidence=0.0, valid=False, size_type=size_type)

    def _with_check_digit(self, frame: np.ndarray, lines: Sequence[TextLine]) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        for row in row_groups(lines):
            for i in range(len(row)):
                text, score = "", 1.0
                for j in range(i, min(i + 3, len(row))):
                    text += row[j].text
                    score = min(score, row[j].score)
                    flat = _ALNUM.sub("", text.upper())
                    # 11 characters too: the boxed digit is often misread (7 -> Z) and fails.
                    if len(flat) in (10, 11) and _OWNER_SERIAL.match(flat[:10]):
                        digit = read_boxed_digit(self.engine, frame, row[j])
                        if digit is not None:
                            out.append((f"{flat[:10]} [{digit[0]}]", min(score, digit[1])))
        return out


def _undecided(r: ContainerRead, others: tuple[str, ...]) -> ContainerRead:
    """No code taken: `r`'s and the `others` were read about as large, and size is what tells the
    lane's container from another. The officer sees them all (also_seen)."""
    assert r.text is not None
    seen = tuple(sorted({r.text, *others}))
    return r.model_copy(update={"text": None, "valid": False, "confidence": min(r.confidence, 0.5), "also_seen": seen})


def code_groups(lines: Sequence[TextLine]) -> list[list[TextLine]]:
    """Lines that together may hold one code, in reading order, most likely first: runs of one
    to three neighbours in a row with 9-12 alphanumerics (owner, serial, maybe the check digit),
    and an owner line of 3-4 characters stacked over a 6-7 digit serial (two- and three-row
    layouts). Larger text first: the code is the largest marking on the door."""
    groups: list[tuple[float, list[TextLine]]] = []

    def extend(run: list[TextLine]) -> None:
        flat = "".join(_ALNUM.sub("", ln.text.upper()) for ln in run)
        n = len(flat)
        if 9 <= n <= 12 and _code_shaped(flat):
            groups.append((min(ln.height for ln in run), run))
        if len(run) < 3 and n < 11:
            for nxt in lines:
                if _follows(run[-1], nxt):
                    extend([*run, nxt])

    for ln in lines:
        extend([ln])
    for top in lines:
        owner = _ALNUM.sub("", top.text.upper())
        if not 3 <= len(owner) <= 4 or sum(c.isalpha() for c in owner) < 3:
            continue
        for low in lines:
            serial = _ALNUM.sub("", low.text.upper())
            if low is top or not 5 <= len(serial) <= 8 or sum(c.isdigit() for c in serial) < 5:
                continue
            h = max(top.height, low.height)
            stacked = -0.3 * h <= low.y0 - top.y1 <= 1.2 * h
            aligned = abs(low.x0 - top.x0) <= 1.5 * h or top.x0 <= (low.x0 + low.x1) / 2 <= top.x1
            if stacked and aligned:
                groups.append((min(top.height, low.height), [top, low]))
    groups.sort(key=lambda g: -g[0])
    return [g for _, g in groups]


def _code_shaped(flat: str) -> bool:
    """Mostly letters where the owner code stands and mostly digits where the serial does: a
    weight or capacity line ("MAXGROSS30480KGS", "CUCAP332CUM") is not worth a recognition.
    Loose, since these are the plain reading's characters (a door bar may add a 1)."""
    head, tail = flat[:4], flat[4:]
    return sum(c.isalpha() for c in head) >= 2 and sum(c.isdigit() for c in tail) >= 0.6 * len(tail)


def _follows(a: TextLine, b: TextLine) -> bool:
    """b continues a's row to the right: starts after a, within four heights, and their
    vertical extents overlap by half the smaller one (a row seen in perspective slants, so the
    centres of owner code and serial can be most of a height apart). Measured along a's own
    slant as well: in a sheared row (camera above and beside the door) the upright boxes of
    neighbouring lines overlap in x although the second starts where the first ends."""
    h = min(a.height, b.height)
    overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
    if overlap < 0.5 * h or b.x0 - a.x1 > 4 * max(a.height, b.height):
        return False
    if b.x0 >= a.x1 - 0.3 * h:
        return True
    tl, tr, br, bl = (np.array(p, dtype=np.float32) for p in a.box)
    btl, _, _, bbl = (np.array(p, dtype=np.float32) for p in b.box)
    u = (tr - tl) / max(float(np.linalg.norm(tr - tl)), 1.0)
    qh = min(float(np.linalg.norm(bl - tl)), float(np.linalg.norm(bbl - btl)))
    gap = (btl + bbl) / 2 - (tr + br) / 2
    along, across = float(gap @ u), abs(float(gap[0] * u[1] - gap[1] * u[0]))
    return along >= -0.5 * qh and across <= 0.6 * qh


def _quad_w(box: np.ndarray) -> float:
    """Length of the quadrilateral along its text (as RapidOCR measures it when cropping)."""
    return float(max(np.linalg.norm(box[1] - box[0]), np.linalg.norm(box[2] - box[3])))


def _quad_h(box: np.ndarray) -> float:
    return float(max(np.linalg.norm(box[3] - box[0]), np.linalg.norm(box[2] - box[1])))


def _flat(text: str) -> str:
    """The letters and digits of a reading, upper case."""
    return _ALNUM.sub("", unicodedata.normalize("NFKC", text).upper())


def _around_piece(frame: np.ndarray, piece: TextLine) -> np.ndarray:
    """The frame around a piece of a code, enlarged so its characters are PIECE_HEIGHT px: room
    for the rest of the code to the right or left and for the rows above and below."""
    h, w = frame.shape[:2]
    xs, ys = [p[0] for p in piece.box], [p[1] for p in piece.box]
    ch = max(max(ys) - min(ys), 4.0)
    x0, x1 = int(max(min(xs) - 6 * ch, 0)), int(min(max(xs) + 9 * ch, w))
    y0, y1 = int(max(min(ys) - 3 * ch, 0)), int(min(max(ys) + 4 * ch, h))
    crop = frame[y0:y1, x0:x1]
    f = min(max(PIECE_HEIGHT / ch, 1.0), ZOOM_MAX / max(crop.shape[:2]))
    return enlarged(crop, round(max(crop.shape[:2]) * f)) if f > 1.05 else crop


def _preferred(again: ContainerRead, first: ContainerRead) -> ContainerRead:
    """A second reading of the frame (enlarged, deblurred) over the first: if valid, surer, or
    the first read nothing at all."""
    if again.valid or again.confidence > first.confidence or (first.raw is None and again.raw is not None):
        return again
    return first


def _box_h(box: np.ndarray) -> float:
    return float(box[:, 1].max() - box[:, 1].min())


def _box_w(box: np.ndarray) -> float:
    return float(box[:, 0].max() - box[:, 0].min())
