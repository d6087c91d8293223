"""Grammar-constrained decoding of the recogniser's per-character alternatives.

The plain reading keeps the recogniser's best character at every step and then asks the grammar
whether the string is valid; a single doubtful step (7 at 0.59 beside Z at 0.27 in a digit slot)
then fails the whole read. Here every slot of the grammar is filled from the alternatives the
recogniser itself gave at that step, renormalised over what the slot allows, and the best string
the grammar accepts wins. For container codes the ISO 6346 check digit is part of the grammar
(a dynamic programme over the weighted sum mod 11), so the result always carries a valid check
digit; it is never "repaired" with a character the recogniser did not propose.

Confidence is the weakest slot's renormalised probability, so choosing an unlikely alternative
to satisfy the check digit gives a low confidence (the officer decides) instead of a guess
reported valid. The margin is how far the runner-up valid string stays behind the best.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from kakou.models.iso6346 import OTHER_CATEGORIES, char_value
from kakou.models.plate_grammar import body_slot, is_valid_plate, letter_slot, province_of

Step = Sequence[tuple[str, float]]  # one emitted character: its top-k alternatives

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
# Characters the recogniser emits for the outline of a check box or between groups: a step whose
# best guess is one of these (and that offers no confident alnum alternative) is not a slot.
_SEPARATORS = set(" []|()【】「」『』·.,:;-_'\"!/\\#*")
_BARS = set("1IL|!")  # what a vertical bar between owner code and serial is read as
_MIN_ALT = 0.02  # alternatives below this are noise, not evidence
EVIDENCE = 0.1  # allowed characters' total probability at a step below which it is doubted
# A stricter floor for the province slot where a caller asks for it (a line read again on an
# image the reader transformed on an estimate): 31 intricate glyphs, a small blurred one is read
# as anything, and the few among the top alternatives are the recogniser's guesses (苏 at 0.24
# beside 6, #, 3 was renormalised to 1.0 and reported valid for a rendered 浙 plate). Not the
# default: on the field set it would also send two right reads to the officer (粤 at 0.02-0.2
# under a Q, 皖 at 0.05-0.27 under a G).
PROVINCE_EVIDENCE = 0.5


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    confidence: float  # the weakest slot's renormalised probability
    margin: float  # 1 - P(runner-up) / P(best) over strings the grammar accepts; 1.0 if none

    @property
    def score(self) -> float:
        """What a reader reports: the confidence, capped when a second valid string is nearly as
        likely (two readings that close are the officer's to settle)."""
        return min(self.confidence, 0.5 + self.margin)


def top_text(steps: Sequence[Step]) -> str:
    """The recogniser's own best reading of the steps (what it said, for `raw`)."""
    return "".join(step[0][0] for step in steps if step)


def _norm(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch).upper()


def slot_steps(steps: Sequence[Step]) -> list[Step]:
    """Drop steps that are separators or box outlines rather than characters."""
    out: list[Step] = []
    for step in steps:
        if not step:
            continue
        top = _norm(step[0][0])
        if top.isalnum():
            out.append(step)
        elif top in _SEPARATORS or not top.strip():
            # A box edge read as '[' with the digit as its alternative is still the digit.
            alnum = [(c, p) for c, p in step if _norm(c).isalnum()]
            if alnum and alnum[0][1] >= 0.5:
                out.append(step)
    return out


def _allowed(
    step: Step, allowed: str | Callable[[str], str | None], evidence_floor: float = EVIDENCE
) -> dict[str, float]:
    """The step's probability mass per character the slot allows (a string of them, or a
    function saying what a character can only mean there), renormalised over those."""
    mass: dict[str, float] = {}
    for ch, p in step:
        if isinstance(allowed, str):
            c: str | None = _norm(ch)
            c = c if c is not None and c in allowed else None
        else:
            c = allowed(ch)
        if c is not None and p >= _MIN_ALT:
            mass[c] = mass.get(c, 0.0) + p
    total = sum(mass.values())
    if total <= 0:
        return {}
    # Renormalising settles a doubt the grammar can settle (7 at 0.59 beside Z at 0.27 in a
    # digit slot). But when the step was mostly something the slot cannot hold (B at 0.90, 皖
    # at 0.03 in the province slot) the recogniser gave no evidence for any allowed character:
    # the slot's probability is scaled down by how little mass the allowed ones had.
    evidence = min(total / evidence_floor, 1.0)
    return {c: p / total * evidence for c, p in mass.items()}


def without_bar(slots: Sequence[Step]) -> list[Step] | None:
    """The slots without a door bar or painted divider read as a character between the owner
    code and the serial ("TGBU|708333" comes back as TGBU1708333), or None if there is none:
    four letters, the category U/J/Z among them, then a thin-stroke step."""
    if len(slots) < 11 or _norm(slots[4][0][0]) not in _BARS:
        return None
    if not all(_norm(s[0][0]).isalpha() for s in slots[:4]) or not _allowed(slots[3], "UJZ"):
        return None
    return [*slots[:4], *slots[5:]]


def decode_container(steps: Sequence[Step], categories: str = "UJZ") -> Decoded | None:
    """The best ISO 6346 code (owner, category U/J/Z, serial, check digit) the steps allow, or
    None when they are not eleven characters or no assignment has a matching check digit.
    Twelve steps are eleven when one is a door bar after the owner code (`without_bar`).
    `categories`: the letters the fourth slot may hold."""
    slots = slot_steps(steps)
    if len(slots) == 12:
        slots = without_bar(slots) or slots
    if len(slots) != 11:
        return None
    sets = [LETTERS] * 3 + [categories] + [DIGITS] * 7
    options = [_allowed(s, allowed) for s, allowed in zip(slots, sets, strict=True)]
    if any(not o for o in options):
        return None
    # Dynamic programme over the weighted sum mod 11 of the first ten characters, keeping the
    # two best partial strings per state (best and runner-up are needed for the margin).
    beams: dict[int, list[tuple[float, str, float]]] = {0: [(0.0, "", 1.0)]}
    for i, opts in enumerate(options[:10]):
        nxt: dict[int, list[tuple[float, str, float]]] = {}
        for state, partials in beams.items():
            for logp, text, weakest in partials:
                for ch, p in opts.items():
                    s = (state + (char_value(ch) << i)) % 11
                    nxt.setdefault(s, []).append((logp + math.log(p), text + ch, min(weakest, p)))
        beams = {s: sorted(v, reverse=True)[:2] for s, v in nxt.items()}
    finals: list[tuple[float, str, float]] = []
    for state, partials in beams.items():
        digit = str(state % 10)
        p_check = options[10].get(digit)
        if p_check is None:
            continue
        finals += [(logp + math.log(p_check), text + digit, min(weakest, p_check)) for logp, text, weakest in partials]
    if not finals:
        return None
    finals.sort(reverse=True)
    best = finals[0]
    margin = 1.0 - math.exp(finals[1][0] - best[0]) if len(finals) > 1 else 1.0
    return Decoded(best[1], best[2], margin)


SURE = 0.95  # every character of a code with another category letter must be read this surely


def decode_other_category(steps: Sequence[Step]) -> Decoded | None:
    """A code whose category letter is not U, J or Z (OTHER_CATEGORIES), accepted only as the
    recogniser read it: its best character at every step must spell that code (nothing is
    chosen among alternatives, so the grammar never makes such a code up), the check digit
    must agree, the four letters must be SURE once renormalised over the letters (the digits
    are held to the caller's threshold, as in a U/J/Z code: a boxed 7 at 0.64 beside Z at 0.19
    is a sure digit, a 6 at 0.84 beside a 5 is a read one; the check digit catches any single
    misread digit), the category letter itself must be read SURE as it stands, and its step
    must give U, J and Z no weight (were one of them among its alternatives, the letter may be
    a misread of it). Field dev frame 011 (RWWL 456431 7) under camera variations read its 6
    and 1 at 0.81-0.91 and was lost in 4 of 9 while every letter stood at 0.98 or more."""
    slots = slot_steps(steps)
    if len(slots) != 11:
        return None
    text = "".join(_norm(s[0][0]) for s in slots)
    if not (text.isascii() and text[:4].isalpha() and text[4:].isdigit()) or text[3] not in OTHER_CATEGORIES:
        return None
    if slots[3][0][1] < SURE or any(_norm(c) in "UJZ" and p >= _MIN_ALT for c, p in slots[3]):
        return None
    d = decode_container(slots, OTHER_CATEGORIES)
    if d is None or d.text != text:
        return None
    if any(_allowed(s, LETTERS).get(ch, 0.0) < SURE for s, ch in zip(slots[:4], text[:4], strict=True)):
        return None
    return d


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def merge_views(views: Sequence[Sequence[Step]]) -> list[Step]:
    """Several readings of one line (e.g. at different stretches) as one: the views that agree
    with the most common character count are averaged slot by slot, so a character one view
    misreads is outvoted where the others agree, and doubt shared by all views remains."""
    slotted = [slot_steps(v) for v in views]
    counts = [len(s) for s in slotted if s]
    if not counts:
        return []
    n = max(set(counts), key=lambda k: (counts.count(k), k))
    agree = [s for s in slotted if len(s) == n]
    out: list[Step] = []
    for i in range(n):
        mass: dict[str, float] = {}
        for s in agree:
            for ch, p in s[i]:
                mass[ch] = mass.get(ch, 0.0) + p / len(agree)
        out.append(sorted(mass.items(), key=lambda t: -t[1]))
    return out


def decode_plate(
    steps: Sequence[Step], latin_patterns: Iterable[str] = (), beam: int = 48, province_evidence: float = EVIDENCE
) -> Decoded | None:
    """The best GA 36 plate (province, city letter, serial; 7 characters, or 8 for new-energy
    plates) the steps allow, or None. Beam search over the slots; the grammar (which letters may
    stand where in a new-energy serial, the suffixes) is checked on whole strings. The province
    slot's probability is scaled down when its provinces had less than `province_evidence`
    of the step (PROVINCE_EVIDENCE for a stricter reading)."""
    slots = slot_steps(steps)
    if len(slots) not in (7, 8):
        return None
    n = len(slots)
    mappers: list[Callable[[str], str | None]] = [province_of, letter_slot, *[body_slot] * (n - 3)]
    mappers.append(lambda ch: body_slot(ch, last=n == 7))
    # A province step whose best reading is another Chinese character (美, 荒) saw a Chinese
    # glyph and named a different one: the provinces among its alternatives are guesses, held
    # to PROVINCE_EVIDENCE (a rendered 贵 read as 美 had come out as 皖 at 0.94). A Latin letter
    # there (Q for a small 粤) is the Chinese-first recogniser not seeing a Chinese glyph at
    # all: the usual floor (field plate 075 粤BD01366 reads so). Counting the other Chinese
    # alternatives as rivals of the province everywhere was tried: it cannot tell 闽 beside
    # 闵/电 (right, field 072) from 皖 beside 荒 (wrong, a render), and lost 072.
    top = slots[0][0][0]
    if is_cjk(top) and province_of(top) is None:
        province_evidence = max(province_evidence, PROVINCE_EVIDENCE)
    floors = [province_evidence] + [EVIDENCE] * (n - 1)
    options = [_allowed(s, m, f) for s, m, f in zip(slots, mappers, floors, strict=True)]
    for i in range(1, n):
        # A serial step that is mostly Chinese characters saw a Chinese glyph (a suffix: 领 read
        # as 号 beside 0 at 0.08): its letters and digits are guesses, held to PROVINCE_EVIDENCE
        # (field 069 沪A1707领, scaled to 0.8 and compressed at JPEG q50, had come out as
        # 沪A17070 at 0.89). Its Chinese options (a suffix the slot allows) keep their weight.
        cjk = sum(p for c, p in slots[i] if is_cjk(c))
        alnum = sum(p for c, p in slots[i] if not is_cjk(c) and mappers[i](c) is not None)
        if cjk > alnum:
            scale = min(alnum / PROVINCE_EVIDENCE, 1.0)
            options[i] = {c: p if is_cjk(c) else p * scale for c, p in options[i].items()}
    if any(not o for o in options):
        return None
    partials: list[tuple[float, str, float]] = [(0.0, "", 1.0)]
    for opts in options:
        grown = [(lp + math.log(p), t + c, min(w, p)) for lp, t, w in partials for c, p in opts.items()]
        partials = sorted(grown, reverse=True)[:beam]
    valid = [f for f in partials if is_valid_plate(f[1], latin_patterns)]
    if not valid:
        return None
    best = valid[0]
    margin = 1.0 - math.exp(valid[1][0] - best[0]) if len(valid) > 1 else 1.0
    return Decoded(best[1], best[2], margin)
