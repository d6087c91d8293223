"""ISO 6346 container identification: owner code (3 letters), category (U, J or Z), 6-digit
serial, check digit. normalise() fixes OCR confusions only where the position grammar demands
it and only returns a code whose check digit then agrees."""

from __future__ import annotations

import re

# Letter values skip multiples of 11 (11, 22, 33), as the standard prescribes.
_LETTER_VALUES: dict[str, int] = {}
_v = 10
for _c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
    if _v % 11 == 0:
        _v += 1
    _LETTER_VALUES[_c] = _v
    _v += 1

CATEGORIES = "UJZ"
_CODE = re.compile(r"^[A-Z]{4}\d{7}$")
_TO_LETTER = {"0": "O", "1": "I", "8": "B", "5": "S", "2": "Z"}
_TO_DIGIT = {v: k for k, v in _TO_LETTER.items()}
# The fourth slot holds U, J or Z only; a bare J is often read as I or 1, Z as 2, U as V.
_TO_CATEGORY = {"I": "J", "1": "J", "2": "Z", "V": "U"}
_NOISE = re.compile(r"[^0-9A-Za-z]")


def char_value(ch: str) -> int:
    """ISO 6346 value of a code character (digits as themselves, letters 10-38 skipping 11s)."""
    return int(ch) if ch.isdigit() else _LETTER_VALUES[ch]


def check_digit(code10: str) -> int:
    """Check digit for the first 10 characters (owner+category+serial), e.g. 'CSQU305438' -> 3."""
    c = code10.replace(" ", "").upper()[:10]
    if len(c) != 10 or not re.fullmatch(r"[A-Z]{4}\d{6}", c):
        raise ValueError(f"need 4 letters and 6 digits, got {code10!r}")
    total = sum(char_value(ch) << i for i, ch in enumerate(c))
    return total % 11 % 10  # remainder 10 is written as 0


def is_valid(code: str, categories: str = CATEGORIES) -> bool:
    """True for an 11-character code (spaces allowed) whose category letter is one of
    `categories` and whose check digit matches."""
    c = code.replace(" ", "").upper()
    return bool(_CODE.match(c)) and c[3] in categories and check_digit(c[:10]) == int(c[10])


# Category letters outside ISO 6346's U/J/Z that some owners paint (RWWL: Royal Wolf's L). Left
# out are the letters whose value differs from U's, J's or Z's by a multiple of 11 (A and K for
# U, T for J, F and P for Z): the check digit cannot tell them from a misread U, J or Z.
OTHER_CATEGORIES = "".join(
    c for c in _LETTER_VALUES if c not in CATEGORIES and all((char_value(c) - char_value(k)) % 11 for k in CATEGORIES)
)


def normalise(text: str) -> str | None:
    """Canonical 11-character code if `text` reads as exactly one valid code, else None.

    Separators and the check-digit box are dropped. Digits in the three owner slots, I/1/2/V in
    the category slot (which only holds U, J or Z) and O/I/B/S/Z in the seven digit slots are
    swapped to their look-alikes; the result is accepted
    only if the check digit confirms it, so a correction can never invent a valid code from a
    check-digit failure."""
    c = _NOISE.sub("", text).upper()
    if len(c) != 11:
        return None
    head = "".join(_TO_LETTER.get(ch, ch) for ch in c[:3]) + _TO_CATEGORY.get(c[3], c[3])
    tail = "".join(_TO_DIGIT.get(ch, ch) for ch in c[4:])
    fixed = head + tail
    return fixed if is_valid(fixed) else None


def format_code(code: str) -> str:
    """'MSKU1234565' -> 'MSKU 123456 5' (how it is painted on the door)."""
    c = code.replace(" ", "")
    return f"{c[:4]} {c[4:10]} {c[10:]}"


def make_code(owner: str, serial: int | str) -> str:
    """Owner code (4 letters incl. category) + 6-digit serial + computed check digit."""
    s = f"{int(serial):06d}"
    return f"{owner.upper()}{s}{check_digit(owner.upper() + s)}"
