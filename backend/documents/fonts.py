"""The CJK fonts contracts are set in, and which characters they can print.

Noto Serif SC (body, every value a user types) and Noto Sans SC (headings, labels)
come from the ``pylopdf-fonts-zh-cn`` package. WeasyPrint embeds a subset of each;
with HarfBuzz-Subset (``libharfbuzz-subset0``) that takes milliseconds, with the
fontTools fallback several seconds per render.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

import pylopdf_fonts_zh_cn
from fontTools.ttLib import TTFont

log = logging.getLogger(__name__)

SERIF_FAMILY = "SignLink Serif SC"
SANS_FAMILY = "SignLink Sans SC"


def serif_path() -> Path:
    return Path(pylopdf_fonts_zh_cn.__file__).parent / "NotoSerifSC-Regular.otf"


def sans_path() -> Path:
    return Path(pylopdf_fonts_zh_cn.__file__).parent / "NotoSansSC-Regular.otf"


def font_face_css() -> str:
    """``@font-face`` rules pointing at the font files, for WeasyPrint to embed."""
    return "\n".join(
        f'@font-face {{ font-family: "{family}"; src: url("{path.as_uri()}"); }}'
        for family, path in ((SERIF_FAMILY, serif_path()), (SANS_FAMILY, sans_path()))
    )


@cache
def _printable_codepoints() -> frozenset[int]:
    font = TTFont(serif_path(), lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


def can_print(char: str) -> bool:
    """Whether the body font has a glyph for ``char`` (else it would print as a box)."""
    return ord(char) in _printable_codepoints()


@cache
def fast_subsetting_available() -> bool:
    """Whether WeasyPrint found HarfBuzz-Subset; without it a render takes seconds."""
    from weasyprint.text import ffi

    available = ffi.harfbuzz_subset is not None
    if not available:
        log.warning(
            "libharfbuzz-subset0 is not installed: WeasyPrint falls back to fontTools "
            "and each contract render takes several seconds"
        )
    return available
