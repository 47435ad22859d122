"""The visible signature: the handwriting, with the signer's name and time in small CJK text.

The caption is drawn as vector outlines taken from Noto Sans SC, not as text in an
embedded font: subsetting a 16 MB CJK font for every signature cost ~0.3 s, outlines of
the few glyphs a caption needs cost microseconds once cached. It renders identically in
every viewer. Under the outlines the same caption is written as invisible text (rendering
mode 3) in Adobe's predefined ``STSong-Light`` CID font, which is never embedded (PDF/A
allows that for invisible text), so the caption can still be searched and copied.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import pylopdf_fonts_zh_cn
from fontTools.pens.basePen import BasePen
from fontTools.ttLib import TTFont
from PIL import Image, ImageOps, UnidentifiedImageError
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.content import PdfContent, ResourceType
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.stamp import StaticStampStyle

from backend.signing.errors import InvalidHandwriting

__all__ = [
    "CHINA_TIME",
    "ImageWithCaption",
    "caption_text",
    "handwriting_image",
    "signature_stamp_style",
]

CHINA_TIME = timezone(timedelta(hours=8), "UTC+8")
FONT_PATH = Path(pylopdf_fonts_zh_cn.__file__).parent / "NotoSansSC-Regular.otf"
CAPTION_COLOUR = (0.2, 0.2, 0.2)
_MAX_IMAGE_WIDTH = 800
# A pixel counts as ink when it is at least this opaque and this dark.
_INK_ALPHA = 24
_INK_LUMA = 200
_PADDING = 2


def caption_text(signer_name: str, signed_at: datetime) -> str:
    """``张三  2026-11-22 14:05 (UTC+8)``: the line printed under the handwriting."""
    return f"{signer_name}  {signed_at.astimezone(CHINA_TIME):%Y-%m-%d %H:%M} (UTC+8)"


def handwriting_image(png: bytes) -> Image.Image:
    """Decode the drawn signature as RGBA, paper made transparent and cropped to the ink."""
    try:
        with Image.open(io.BytesIO(png)) as raw:
            raw.load()
            image = ImageOps.exif_transpose(raw).convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InvalidHandwriting("the handwriting is not a readable image") from exc
    luma = image.convert("L")
    alpha = image.getchannel("A")
    # Ink = opaque enough and darker than paper; everything else becomes transparent.
    dark = luma.point(lambda v: 255 if v < _INK_LUMA else 0)
    opaque = alpha.point(lambda v: 255 if v >= _INK_ALPHA else 0)
    ink = Image.composite(dark, Image.new("L", image.size, 0), opaque)
    bbox = ink.getbbox()
    if bbox is None:
        raise InvalidHandwriting("the handwriting image holds no visible stroke")
    image.putalpha(Image.composite(alpha, Image.new("L", image.size, 0), ink))
    image = image.crop(bbox)
    if image.width > _MAX_IMAGE_WIDTH:
        height = max(1, round(image.height * _MAX_IMAGE_WIDTH / image.width))
        image = image.resize((_MAX_IMAGE_WIDTH, height), Image.Resampling.LANCZOS)
    return image


def _caption_font_size(box_height: float) -> int:
    # About a sixth of the box height, readable on paper (>= 6 pt) but never dominant.
    return max(6, min(9, round(box_height / 6)))


class _PdfPathPen(BasePen):  # type: ignore[misc]
    """Collects a glyph outline as PDF path operators (font units)."""

    def __init__(self, glyph_set: object) -> None:
        super().__init__(glyph_set)
        self.ops: list[str] = []

    def _moveTo(self, pt: tuple[float, float]) -> None:
        self.ops.append(f"{pt[0]:g} {pt[1]:g} m")

    def _lineTo(self, pt: tuple[float, float]) -> None:
        self.ops.append(f"{pt[0]:g} {pt[1]:g} l")

    def _curveToOne(
        self, p1: tuple[float, float], p2: tuple[float, float], p3: tuple[float, float]
    ) -> None:
        self.ops.append(f"{p1[0]:g} {p1[1]:g} {p2[0]:g} {p2[1]:g} {p3[0]:g} {p3[1]:g} c")

    def _closePath(self) -> None:
        self.ops.append("h")


class _Outlines:
    """Glyph outlines and advances of Noto Sans SC, parsed once per process."""

    def __init__(self) -> None:
        font = TTFont(str(FONT_PATH), lazy=True)
        self.units_per_em = font["head"].unitsPerEm
        self._cmap = font.getBestCmap()
        self._metrics = font["hmtx"].metrics
        self._glyphs = font.getGlyphSet()

    @lru_cache(maxsize=4096)  # noqa: B019 - one instance per process
    def glyph(self, char: str) -> tuple[bytes, int]:
        """(PDF path operators filling the glyph, advance width), in font units."""
        name = self._cmap.get(ord(char)) or self._cmap.get(ord("?"), ".notdef")
        pen = _PdfPathPen(self._glyphs)
        self._glyphs[name].draw(pen)
        path = " ".join(pen.ops)
        return (f"{path} f".encode() if path else b""), self._metrics[name][0]

    def width(self, text: str) -> int:
        return sum(self.glyph(c)[1] for c in text)


@lru_cache(maxsize=1)
def _outlines() -> _Outlines:
    return _Outlines()


def caption_paths(text: str, size: float, x: float, y: float) -> bytes:
    """Content-stream operators drawing ``text`` at ``size`` pt with baseline at (x, y)."""
    outlines = _outlines()
    scale = size / outlines.units_per_em
    parts = [b"q %g 0 0 %g %g %g cm" % (scale, scale, x, y)]
    for char in text:
        path, advance = outlines.glyph(char)
        if path:
            parts.append(path)
        parts.append(b"1 0 0 1 %d 0 cm" % advance)
    parts.append(b"Q")
    return b"\n".join(parts)


_TEXT_FONT = "/FCaption"


def _invisible_text_font() -> generic.DictionaryObject:
    """Adobe-GB1 STSong-Light with the UTF-16 CMap: known to every reader, never embedded."""
    descriptor = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/FontDescriptor"),
            pdf_name("/FontName"): pdf_name("/STSong-Light"),
            pdf_name("/Flags"): generic.NumberObject(6),
            pdf_name("/FontBBox"): generic.ArrayObject(
                generic.NumberObject(v) for v in (-25, -254, 1000, 880)
            ),
            pdf_name("/ItalicAngle"): generic.NumberObject(0),
            pdf_name("/Ascent"): generic.NumberObject(880),
            pdf_name("/Descent"): generic.NumberObject(-120),
            pdf_name("/CapHeight"): generic.NumberObject(880),
            pdf_name("/StemV"): generic.NumberObject(93),
        }
    )
    cid_font = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Font"),
            pdf_name("/Subtype"): pdf_name("/CIDFontType0"),
            pdf_name("/BaseFont"): pdf_name("/STSong-Light"),
            pdf_name("/CIDSystemInfo"): generic.DictionaryObject(
                {
                    pdf_name("/Registry"): generic.TextStringObject("Adobe"),
                    pdf_name("/Ordering"): generic.TextStringObject("GB1"),
                    pdf_name("/Supplement"): generic.NumberObject(4),
                }
            ),
            pdf_name("/FontDescriptor"): descriptor,
            pdf_name("/DW"): generic.NumberObject(1000),
        }
    )
    return generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Font"),
            pdf_name("/Subtype"): pdf_name("/Type0"),
            pdf_name("/BaseFont"): pdf_name("/STSong-Light"),
            pdf_name("/Encoding"): pdf_name("/UniGB-UTF16-H"),
            pdf_name("/DescendantFonts"): generic.ArrayObject([cid_font]),
        }
    )


def invisible_text(text: str, size: float, x: float, y: float, width: float) -> bytes:
    """``text`` in rendering mode 3, squeezed to ``width``: found by search, never seen."""
    natural = size * len(text)  # every glyph 1 em wide (/DW 1000)
    squeeze = 100 * width / natural if natural else 100
    hex_text = text.encode("utf-16-be").hex().upper().encode()
    return b"BT 3 Tr %s %g Tf %g Tz %g %g Td <%s> Tj ET" % (
        _TEXT_FONT.encode(),
        size,
        squeeze,
        x,
        y,
        hex_text,
    )


class ImageWithCaption(PdfContent):  # type: ignore[misc]
    """An image scaled into a box above a one-line caption drawn as outlines."""

    def __init__(self, image: Image.Image, caption: str, width: float, height: float) -> None:
        super().__init__(box=layout.BoxConstraints(width, height))
        self._image = PdfImage(image)
        self._caption = caption
        self._size = (width, height)

    def set_writer(self, writer: BasePdfFileWriter | None) -> None:
        super().set_writer(writer)
        self._image.set_writer(writer)

    def render(self) -> bytes:
        width, height = self._size
        font_size: float = _caption_font_size(height) if self._caption else 0
        outlines = _outlines()
        text_width = outlines.width(self._caption) * font_size / outlines.units_per_em
        room = width - 2 * _PADDING
        if text_width > room:
            font_size *= room / text_width
            text_width = room
        band = font_size * 1.5 + _PADDING if self._caption else 0
        image_box = (width - 2 * _PADDING, height - band - 2 * _PADDING)
        iw, ih = self._image.image.size
        scale = min(image_box[0] / iw, image_box[1] / ih)
        drawn = (iw * scale, ih * scale)
        self._image.box = layout.BoxConstraints(*drawn)
        image_ops = self._image.render()
        self.import_resources(self._image.resources)
        parts = [
            # Centred horizontally, sitting on the caption like a signature on a line.
            b"q 1 0 0 1 %g %g cm %s Q" % ((width - drawn[0]) / 2, band + _PADDING, image_ops)
        ]
        if self._caption:
            self.set_resource(ResourceType.FONT, pdf_name(_TEXT_FONT), _invisible_text_font())
            x, y = (width - text_width) / 2, _PADDING + font_size * 0.4
            parts.append(invisible_text(self._caption, font_size, x, y, text_width))
            parts.append(b"q %g %g %g rg" % CAPTION_COLOUR)
            parts.append(caption_paths(self._caption, font_size, x, y))
            parts.append(b"Q")
        return b"\n".join(parts)


def signature_stamp_style(
    image: Image.Image, caption: str, box: tuple[float, float]
) -> StaticStampStyle:
    """A stamp that fills a ``box`` (width, height) with ``image`` over ``caption``."""
    return StaticStampStyle(
        background=ImageWithCaption(image, caption, *box),
        background_opacity=1.0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins(),
            inner_content_scaling=layout.InnerScaling.NO_SCALING,
        ),
        border_width=0,
    )
