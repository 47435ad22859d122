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
compact copies are built once (fontTools, in a separate process so renders go on
meanwhile) into a cache folder; contract.css lists each compact family first and the
full font after it, so a rarer character (喆, 𠮷) still prints from the full font.

Contracts embed a TrueType copy of each compact font (:func:`document_font_path`): the
same glyphs with quadratic outlines (cu2qu, within 1/1000 em), numbered in GB 2312 order
so the common hanzi get the low glyph ids. HarfBuzz subsets glyf outlines without the
CFF desubroutinising pass, an embedded subset carries metrics only up to the highest id
used, and glyf compresses better: in one process, the TrueType copy cut a car-purchase
render by 15 % of its instructions and the PDF from 171 KB to 119 KB. The CFF copies stay
for the signature captions (``backend.signing.appearance`` writes CID-keyed CFF).
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
_TRUETYPE_VERSION = 1
_CU2QU_MAX_ERROR = 1.0  # font units (1/1000 em): 0.01 pt at 10 pt, invisible


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
            (SERIF_FAMILY + COMPACT_SUFFIX, document_font_path(serif_path())),
            (SANS_FAMILY + COMPACT_SUFFIX, document_font_path(sans_path())),
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
    """The compact CFF copy (signature captions, and the source of the TrueType copy)."""
    return _cache_dir() / f"{source.stem}-gb2312-v{_COMPACT_VERSION}.otf"


def document_font_path(source: Path) -> Path:
    """The compact TrueType copy that contracts embed."""
    return _cache_dir() / f"{source.stem}-gb2312-tt-v{_COMPACT_VERSION}.{_TRUETYPE_VERSION}.ttf"


def compact_fonts_ready() -> bool:
    return all(
        compact_path(p).exists() and document_font_path(p).exists()
        for p in (serif_path(), sans_path())
    )


def _compact_codepoints() -> list[int]:
    codepoints = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))
    for low, high in ((0x2000, 0x206F), (0x2100, 0x214F), (0x2460, 0x24FF),
                      (0x3000, 0x303F), (0xFF00, 0xFFEF)):  # fmt: skip
        codepoints |= set(range(low, high + 1))
    codepoints |= set(_gb2312(range(0xA1, 0xF8)))
    return sorted(codepoints)


def _glyph_order_codepoints() -> list[int]:
    """Code points in the order the TrueType copy numbers its glyphs: every symbol and
    Latin character of the copy, then the hanzi by GB 2312 code (the 3,755 level-1 hanzi
    of everyday text first, the level-2 ones after)."""
    hanzi = _gb2312(range(0xB0, 0xF8))
    placed = set(hanzi)
    return [cp for cp in _compact_codepoints() if cp not in placed] + hanzi


def _gb2312(rows: range) -> list[int]:
    """The characters of these GB 2312 rows (first bytes), in code order."""
    found = []
    for first in rows:
        for second in range(0xA1, 0xFF):
            try:
                found.append(ord(bytes((first, second)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return found


def build_compact_fonts() -> None:
    """Write the compact copies into the cache folder (atomically; skips existing ones).

    The two fonts are built in two processes (~20 s each for the TrueType conversion).
    """
    from concurrent.futures import ProcessPoolExecutor

    _cache_dir().mkdir(parents=True, exist_ok=True)
    sources = [p for p in (serif_path(), sans_path()) if not document_font_path(p).exists()]
    if len(sources) > 1:
        with ProcessPoolExecutor(len(sources)) as pool:
            list(pool.map(_build_copies, sources))
    elif sources:
        _build_copies(sources[0])


def _build_copies(source: Path) -> None:
    if not compact_path(source).exists():
        _build_compact(source, compact_path(source))
    if not document_font_path(source).exists():
        _build_truetype(compact_path(source), document_font_path(source))


def _build_compact(source: Path, target: Path) -> None:
    from fontTools import subset

    options = subset.Options()
    options.layout_features = []  # WeasyPrint drops GSUB/GPOS from what it embeds anyway
    options.notdef_outline = True
    options.hinting = False
    options.drop_tables += ["GSUB", "GPOS", "VORG", "vhea", "vmtx"]
    font = TTFont(source, lazy=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=_compact_codepoints())
    subsetter.subset(font)
    _save(font, target)


def _build_truetype(source: Path, target: Path) -> None:
    """The compact CFF copy with quadratic (glyf) outlines, glyphs in GB 2312 order."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    font = TTFont(source)
    font.ensureDecompiled()  # every table by glyph name before the ids change
    cmap = font.getBestCmap()
    order = [".notdef"]
    placed = {".notdef"}
    for codepoint in _glyph_order_codepoints():
        name = cmap.get(codepoint)
        if name is not None and name not in placed:
            order.append(name)
            placed.add(name)
    order += [name for name in font.getGlyphOrder() if name not in placed]

    outlines = font.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(outlines)
        # CFF contours run counter-clockwise, TrueType ones clockwise
        outlines[name].draw(Cu2QuPen(pen, _CU2QU_MAX_ERROR, reverse_direction=True))
        glyphs[name] = pen.glyph()

    font.setGlyphOrder(order)
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    font["loca"] = newTable("loca")
    del font["CFF "]
    glyf.compile(font)  # computes each glyph's bounds
    hmtx = font["hmtx"]
    for name, glyph in glyphs.items():  # TrueType wants left side bearing == xMin
        advance, _ = hmtx.metrics[name]
        hmtx.metrics[name] = advance, getattr(glyph, "xMin", 0)
    maxp = font["maxp"] = newTable("maxp")  # version 1.0, no hinting programs
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    for field in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                  "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):  # fmt: skip
        setattr(maxp, field, 0)
    font["head"].glyphDataFormat = 0
    font["post"].formatType = 3.0  # no glyph names
    font.sfntVersion = "\x00\x01\x00\x00"
    _save(font, target)


def _save(font: TTFont, target: Path) -> None:
    handle, partial = tempfile.mkstemp(dir=target.parent, suffix=".partial")
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
        lock = _build_lock()
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


def _build_lock() -> Path:
    return _cache_dir() / f"build-v{_COMPACT_VERSION}.{_TRUETYPE_VERSION}.lock"


def build_main() -> None:
    """Entry point of the builder process (see :func:`start_compact_build`)."""
    try:
        build_compact_fonts()
    finally:
        _build_lock().unlink(missing_ok=True)


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
