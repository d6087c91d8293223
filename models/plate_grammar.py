"""Chinese (GA 36) and configurable Latin plate grammar, and OCR-text normalisation.

Corrections are applied only where the grammar leaves no choice: a digit in the city-letter
slot, or O/I anywhere after it (GA 36 never issues the letters I and O).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# OCR sometimes answers in traditional or look-alike forms of the province character.
_PROVINCE_VARIANTS = {
    "粵": "粤",
    "滬": "沪",
    "遼": "辽",
    "魯": "鲁",
    "蘇": "苏",
    "贛": "赣",
    "晉": "晋",
    "陝": "陕",
    "閩": "闽",
    "貴": "贵",
    "靑": "青",
    "寧": "宁",
    "瓊": "琼",
    "雲": "云",
    "沖": "沪",
    "泸": "沪",
}
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, no O in the serial
_CITY_LETTERS = _LETTERS + "O"  # O is a city code (public security plates: 粤O, 川O)
_ALNUM = _LETTERS + "0123456789"
_SUFFIXES = "挂学警港澳领试超"

_STANDARD = re.compile(rf"^[{PROVINCES}][{_CITY_LETTERS}][{_ALNUM}]{{4}}[{_ALNUM}{_SUFFIXES}]$")
# New energy (GA 36-2018): small cars D/A-K then 5, large vehicles 5 digits then D/A-K.
_NEW_ENERGY = re.compile(rf"^[{PROVINCES}][{_LETTERS}](?:[DABCEFGHJK][{_ALNUM}]\d{{4}}|\d{{5}}[DABCEFGHJK])$")
# Foreign (Latin-script) plates are off unless a site configures them: at a mainland gate a
# GA 36 plate whose province character was lost ("AA0787" of 川AA0787) must not pass as one.
DEFAULT_LATIN_PATTERNS: tuple[str, ...] = ()
EXAMPLE_LATIN_PATTERNS: tuple[str, ...] = (
    r"[A-Z]{2}\d{1,4}",  # Hong Kong style, e.g. AB1234
    r"\d{4}[A-Z]{3}",  # Mongolian style, e.g. 1234УБА transliterated
)

# Confusions that the slot type disambiguates.
# The recogniser is Chinese-first: a lone J next to a province character comes back as the
# corner bracket 」 (or 丁, 了, 』); in the letter slot nothing else can be meant.
# A 0 there may be D or O (both are issued): no fix, the officer decides.
_LETTER_SLOT_FIX = {"8": "B", "2": "Z", "5": "S", "6": "G", "」": "J", "丁": "J", "了": "J", "』": "J"}
_FORCED_DIGIT = {"O": "0", "I": "1"}
_SEPARATORS = re.compile(r"[\s·•.\-_:：,，'\"|\[\]()（）]+")


def clean(text: str) -> str:
    """Full-width to ASCII, upper-case, separators and dots dropped."""
    t = unicodedata.normalize("NFKC", text).upper()
    return _SEPARATORS.sub("", t)


def normalise_plate(text: str, latin_patterns: Iterable[str] = DEFAULT_LATIN_PATTERNS) -> str | None:
    """The plate in canonical form if `text` can only mean a valid plate, else None."""
    t = clean(text)
    if not t:
        return None
    if t[0] in _PROVINCE_VARIANTS:
        t = _PROVINCE_VARIANTS[t[0]] + t[1:]
    if t[0] in PROVINCES:
        if len(t) not in (7, 8):
            return None
        body = list(t[1:])
        if body[0] in _LETTER_SLOT_FIX:
            body[0] = _LETTER_SLOT_FIX[body[0]]
        body[1:] = [_FORCED_DIGIT.get(c, c) for c in body[1:]]
        fixed = t[0] + "".join(body)
        return fixed if is_valid_plate(fixed, latin_patterns) else None
    return t if _latin_match(t, latin_patterns) else None


def is_valid_plate(text: str, latin_patterns: Iterable[str] = DEFAULT_LATIN_PATTERNS) -> bool:
    return bool(_STANDARD.match(text) or _NEW_ENERGY.match(text) or _latin_match(text, latin_patterns))


def plate_kind_of(text: str | None, latin_patterns: Iterable[str] = DEFAULT_LATIN_PATTERNS) -> str | None:
    """'new_energy' (8 chars, green), 'trailer' (挂), 'standard' (7 chars, blue or yellow: the
    colour is not in the text), 'latin', or None when the text is not a valid plate."""
    if not text:
        return None
    if _NEW_ENERGY.match(text):
        return "new_energy"
    if _STANDARD.match(text):
        return "trailer" if text.endswith("挂") else "standard"
    if _latin_match(text, latin_patterns):
        return "latin"
    return None


def _latin_match(text: str, patterns: Iterable[str]) -> bool:
    return any(re.fullmatch(p, text) for p in patterns)


def letter_slot(ch: str) -> str | None:
    """What an OCR character in the city-letter slot can only mean, or None."""
    c = unicodedata.normalize("NFKC", ch).upper()
    c = _LETTER_SLOT_FIX.get(c, _LETTER_SLOT_FIX.get(ch, c))
    return c if len(c) == 1 and c in _CITY_LETTERS else None


def body_slot(ch: str, last: bool = False) -> str | None:
    """What an OCR character in the serial can only mean (O and I are never issued there, so
    they are 0 and 1), or None; the last slot of a 7-character plate may hold a suffix."""
    c = unicodedata.normalize("NFKC", ch).upper()
    c = _FORCED_DIGIT.get(c, c)
    if len(c) == 1 and (c in _ALNUM or (last and c in _SUFFIXES)):
        return c
    return None


def province_of(ch: str) -> str | None:
    c = _PROVINCE_VARIANTS.get(ch, ch)
    return c if c in PROVINCES else None
