"""Locate the fonts the camera simulator draws with.

Plates need a CJK font for the province character; nothing is bundled or downloaded, so the
font must come from the OS package (Debian: fonts-wqy-microhei, installed by the project setup).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

CJK_PACKAGE = "fonts-wqy-microhei"

_CJK_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
# A bold condensed sans looks closer to plate/container stencils than Micro Hei; optional.
_LATIN_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSansCondensed-Bold.ttf",
)


class FontNotFoundError(RuntimeError):
    """No usable font on this machine; the message says which package to install."""


def _first_existing(paths: tuple[str, ...]) -> Path | None:
    for p in paths:
        if Path(p).is_file():
            return Path(p)
    return None


@lru_cache(maxsize=1)
def cjk_font_path() -> Path:
    """Path of a CJK-capable font; KAKOU_CJK_FONT overrides the search."""
    override = os.environ.get("KAKOU_CJK_FONT")
    if override:
        if Path(override).is_file():
            return Path(override)
        raise FontNotFoundError(f"KAKOU_CJK_FONT={override!r} does not exist")
    found = _first_existing(_CJK_CANDIDATES)
    if found is None:
        raise FontNotFoundError(
            "no CJK font found (looked in: " + ", ".join(_CJK_CANDIDATES) + "); "
            f"install the Debian package {CJK_PACKAGE} (apt-get install {CJK_PACKAGE}) "
            "or set KAKOU_CJK_FONT to a .ttf/.ttc with Chinese glyphs"
        )
    return found


@lru_cache(maxsize=1)
def latin_font_path() -> Path:
    """Bold Latin font for stencil-like digits; falls back to the CJK font."""
    return _first_existing(_LATIN_CANDIDATES) or cjk_font_path()


@lru_cache(maxsize=64)
def cjk_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(cjk_font_path()), size)


@lru_cache(maxsize=64)
def latin_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(latin_font_path()), size)
