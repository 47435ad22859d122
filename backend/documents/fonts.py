"""The CJK fonts contracts are set in, and which characters they can print.

Noto Serif SC (body, every value a user types) and Noto Sans SC (headings, labels)
come from the ``pylopdf-fonts-zh-cn`` package. WeasyPrint embeds a subset of each;
with HarfBuzz-Subset (``libharfbuzz-subset0``) that takes milliseconds, with the
fontTools fallback several seconds per render.

WeasyPrint keeps glyph ids when it subsets, so an embedded subset of a 30,000-glyph
CJK font still carries metrics for every id up to the highest one used: ~400 KB per
font, per render, to copy, subset and compress. A *compact* copy of each font holding
only GB 2312 (6,763 hanzi, the characters of nearly all modern text) plus Latin and
punctuation numbers its glyphs 0–7,600, which halves the PDF and the write time. The
compact copies are built once (fontTools, ~25 s, in a separate process so renders go on
meanwhile) into a cache folder; contract.css lists each compact family first and the
full font after it, so a rarer character (喆, 𠮷) still prints from the full font.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import time
from functools import cache
from pathlib import Path

import pylopdf_fonts_zh_cn
from fontTools.ttLib import TTFont

log = logging.getLogger(__name__)

SERIF_FAMILY = "SignLink Serif SC"
SANS_FAMILY = "SignLink Sans SC"
COMPACT_SUFFIX = " Common"  # "SignLink Serif SC Common": the compact copy
_COMPACT_VERSION = 1


def serif_path() -> Path:
    return Path(pylopdf_fonts_zh_cn.__file__).parent / "NotoSerifSC-Regular.otf"


def sans_path() -> Path:
    return Path(pylopdf_fonts_zh_cn.__file__).parent / "NotoSansSC-Regular.otf"


def font_face_css(*, compact: bool = False) -> str:
    """``@font-face`` rules pointing at the font files, for WeasyPrint to embed.

    ``compact``: also register the compact copies (when built) under ``<family> Common``.
    """
    faces = [(SERIF_FAMILY, serif_path()), (SANS_FAMILY, sans_path())]
    if compact and compact_fonts_ready():
        faces += [
            (SERIF_FAMILY + COMPACT_SUFFIX, compact_path(serif_path())),
            (SANS_FAMILY + COMPACT_SUFFIX, compact_path(sans_path())),
        ]
    return "\n".join(
        f'@font-face {{ font-family: "{family}"; src: url("{path.as_uri()}"); }}'
        for family, path in faces
    )


# --- compact copies -------------------------------------------------------------------


def _cache_dir() -> Path:
    configured = os.environ.get("SIGNLINK_FONT_CACHE")
    if configured:
        return Path(configured)
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return home / "signlink" / "fonts"


def compact_path(source: Path) -> Path:
    return _cache_dir() / f"{source.stem}-gb2312-v{_COMPACT_VERSION}.otf"


def compact_fonts_ready() -> bool:
    return all(compact_path(p).exists() for p in (serif_path(), sans_path()))


def _compact_codepoints() -> list[int]:
    codepoints = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))
    for low, high in ((0x2000, 0x206F), (0x2100, 0x214F), (0x2460, 0x24FF),
                      (0x3000, 0x303F), (0xFF00, 0xFFEF)):  # fmt: skip
        codepoints |= set(range(low, high + 1))
    for first in range(0xA1, 0xF8):
        for second in range(0xA1, 0xFF):
            try:
                codepoints.add(ord(bytes((first, second)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return sorted(codepoints)


def build_compact_fonts() -> None:
    """Write the compact copies into the cache folder (atomically; skips existing ones)."""
    from fontTools import subset

    folder = _cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for source in (serif_path(), sans_path()):
        target = compact_path(source)
        if target.exists():
            continue
        options = subset.Options()
        options.layout_features = []  # WeasyPrint drops GSUB/GPOS from what it embeds anyway
        options.notdef_outline = True
        options.hinting = False
        options.drop_tables += ["GSUB", "GPOS", "VORG", "vhea", "vmtx"]
        font = TTFont(source, lazy=True)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=_compact_codepoints())
        subsetter.subset(font)
        handle, partial = tempfile.mkstemp(dir=folder, suffix=".partial")
        os.close(handle)
        font.save(partial)
        os.chmod(partial, 0o644)
        os.replace(partial, target)


_build_started = False


def start_compact_build() -> None:
    """Build the compact copies in a separate process, once, if they are missing."""
    global _build_started
    if _build_started or compact_fonts_ready():
        return
    _build_started = True
    try:
        _cache_dir().mkdir(parents=True, exist_ok=True)
        lock = _cache_dir() / f"build-v{_COMPACT_VERSION}.lock"
        if lock.exists() and time.time() - lock.stat().st_mtime < 600:
            return  # another process is building
        lock.touch()
        subprocess.Popen(
            [sys.executable, "-c", "from backend.documents import fonts; fonts.build_main()"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        log.warning("cannot build the compact fonts; renders stay on the full fonts")


def build_main() -> None:
    """Entry point of the builder process (see :func:`start_compact_build`)."""
    try:
        build_compact_fonts()
    finally:
        (_cache_dir() / f"build-v{_COMPACT_VERSION}.lock").unlink(missing_ok=True)


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
