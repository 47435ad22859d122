"""The visible signature: the handwriting, with the signer's name and time in small CJK text.

The caption is real text in an embedded subset of Noto Sans SC (SIL OFL): it renders the
same in every viewer, and can be searched, copied and extracted (``pdftotext``). HarfBuzz
cuts the subset from the compact GB 2312 copy of the font in well under a millisecond
(fontTools on the 16 MB font took ~0.3 s), and each character set is cut once per process.
"""

from __future__ import annotations

import hashlib
import io
import os
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import pylopdf_fonts_zh_cn
import uharfbuzz as hb
from fontTools.ttLib import TTFont
from PIL import Image, ImageChops, ImageOps, UnidentifiedImageError
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.content import PdfContent, ResourceType
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.stamp import StaticStampStyle

from backend.signing.errors import InvalidHandwriting

__all__ = [
    "CHINA_TIME",
    "CaptionFont",
    "ImageWithCaption",
    "caption_font",
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
_DARK = [255 if v < _INK_LUMA else 0 for v in range(256)]
_OPAQUE = [255 if v >= _INK_ALPHA else 0 for v in range(256)]


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
    # Masks are 0 or 255, so multiplying them (x * y / 255) is a logical AND.
    ink = ImageChops.multiply(luma.point(_DARK), alpha.point(_OPAQUE))
    bbox = ink.getbbox()
    if bbox is None:
        raise InvalidHandwriting("the handwriting image holds no visible stroke")
    image.putalpha(ImageChops.multiply(alpha, ink))
    image = image.crop(bbox)
    if image.width > _MAX_IMAGE_WIDTH:
        height = max(1, round(image.height * _MAX_IMAGE_WIDTH / image.width))
        image = image.resize((_MAX_IMAGE_WIDTH, height), Image.Resampling.LANCZOS)
    return image


def _caption_font_size(box_height: float) -> int:
    # About a sixth of the box height, readable on paper (>= 6 pt) but never dominant.
    return max(6, min(9, round(box_height / 6)))


class CaptionFont:
    """Noto Sans SC, embedded into each caption as a subset of the characters it prints.

    The compact GB 2312 copy built at install (``~/.cache/signlink/fonts``) is used when it
    has every character of the caption, the full font otherwise. HarfBuzz subsets in well
    under a millisecond; subsets are kept per character set. The CFF is CID-keyed, so the
    text is written in CIDs (Identity-H) with a ToUnicode map for copying and search.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._face = hb.Face(hb.Blob.from_file_path(str(path)))
        self._font = hb.Font(self._face)
        self.units_per_em = self._face.upem
        font = TTFont(str(path), lazy=True)
        try:
            # CID-keyed CFF: glyph names are "cidNNNNN", and a subset keeps those CIDs.
            self._cids = {
                codepoint: int(name[3:])
                for codepoint, name in font.getBestCmap().items()
                if name.startswith("cid") and name[3:].isdigit()
            }
            ros = getattr(font["CFF "].cff.topDictIndex[0], "ROS", ("Adobe", "Identity", 0))
            self.system_info = (str(ros[0]), str(ros[1]), int(ros[2]))
            self.postscript_name = font["name"].getDebugName(6) or "NotoSansSC-Regular"
        finally:
            font.close()

    def covers(self, text: str) -> bool:
        return all(ord(char) in self._cids for char in text)

    def advance(self, char: str) -> int:
        glyph = self._font.get_nominal_glyph(ord(char))
        return self._font.get_glyph_h_advance(glyph) if glyph is not None else 0

    def width(self, text: str) -> int:
        return sum(self.advance(char) for char in text)

    def cid(self, char: str) -> int:
        return self._cids[ord(char)]

    @lru_cache(maxsize=256)  # noqa: B019 - two instances per process at most
    def subset(self, characters: str) -> bytes:
        """The bare CFF program holding exactly ``characters`` (plus .notdef)."""
        request = hb.SubsetInput()
        request.unicode_set.update(ord(char) for char in characters)
        request.flags = hb.SubsetFlags.NO_HINTING
        return bytes(hb.subset(self._face, request).reference_table("CFF ").data)


@lru_cache(maxsize=2)
def _caption_font(compact: bool) -> CaptionFont:
    return CaptionFont(_compact_font_path() if compact else FONT_PATH)


def _compact_font_path() -> Path:
    # Where backend.documents.fonts builds the compact copy at install (same naming).
    configured = os.environ.get("SIGNLINK_FONT_CACHE")
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = Path(configured) if configured else home / "signlink" / "fonts"
    return folder / f"{FONT_PATH.stem}-gb2312-v1.otf"


def caption_font(text: str) -> CaptionFont:
    """The compact font when it exists and prints every character of ``text``."""
    if _compact_font_path().exists():
        compact = _caption_font(True)
        if compact.covers(text):
            return compact
    return _caption_font(False)


_TEXT_FONT = "/FCaption"


def _subset_tag(characters: str) -> str:
    """Six capitals naming the subset (ISO 32000 § 9.6.4), the same for the same glyphs."""
    digest = hashlib.sha256(characters.encode()).digest()
    return "".join(chr(ord("A") + byte % 26) for byte in digest[:6])


def _to_unicode_cmap(pairs: list[tuple[int, str]]) -> bytes:
    entries = "\n".join(
        f"<{cid:04X}> <{char.encode('utf-16-be').hex().upper()}>" for cid, char in pairs
    )
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        f"{len(pairs)} beginbfchar\n{entries}\nendbfchar\n"
        "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode("ascii")


def embedded_caption_font(
    font: CaptionFont, text: str, writer: BasePdfFileWriter
) -> generic.IndirectObject:
    """A Type 0 font (CIDFontType0C, Identity-H) embedding the subset ``text`` needs."""
    characters = "".join(sorted(set(text)))
    pairs = sorted({(font.cid(char), char) for char in characters})
    widths = generic.ArrayObject()
    for cid, char in pairs:
        widths.append(generic.NumberObject(cid))
        widths.append(
            generic.ArrayObject(
                [generic.NumberObject(round(font.advance(char) * 1000 / font.units_per_em))]
            )
        )
    name = pdf_name(f"/{_subset_tag(characters)}+{font.postscript_name}")
    registry, ordering, supplement = font.system_info
    font_file = generic.StreamObject(
        {pdf_name("/Subtype"): pdf_name("/CIDFontType0C")},
        stream_data=font.subset(characters),
    )
    font_file.compress()
    descriptor = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/FontDescriptor"),
            pdf_name("/FontName"): name,
            pdf_name("/Flags"): generic.NumberObject(4),
            pdf_name("/FontBBox"): generic.ArrayObject(
                generic.NumberObject(v) for v in (-1000, -300, 2000, 1100)
            ),
            pdf_name("/ItalicAngle"): generic.NumberObject(0),
            pdf_name("/Ascent"): generic.NumberObject(880),
            pdf_name("/Descent"): generic.NumberObject(-120),
            pdf_name("/CapHeight"): generic.NumberObject(733),
            pdf_name("/StemV"): generic.NumberObject(80),
            pdf_name("/FontFile3"): writer.add_object(font_file),
        }
    )
    cid_font = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Font"),
            pdf_name("/Subtype"): pdf_name("/CIDFontType0"),
            pdf_name("/BaseFont"): name,
            pdf_name("/CIDSystemInfo"): generic.DictionaryObject(
                {
                    pdf_name("/Registry"): generic.TextStringObject(registry),
                    pdf_name("/Ordering"): generic.TextStringObject(ordering),
                    pdf_name("/Supplement"): generic.NumberObject(supplement),
                }
            ),
            pdf_name("/FontDescriptor"): writer.add_object(descriptor),
            pdf_name("/DW"): generic.NumberObject(1000),
            pdf_name("/W"): widths,
        }
    )
    to_unicode = generic.StreamObject(stream_data=_to_unicode_cmap(pairs))
    to_unicode.compress()
    return writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Font"),
                pdf_name("/Subtype"): pdf_name("/Type0"),
                pdf_name("/BaseFont"): name,
                pdf_name("/Encoding"): pdf_name("/Identity-H"),
                pdf_name("/DescendantFonts"): generic.ArrayObject([writer.add_object(cid_font)]),
                pdf_name("/ToUnicode"): writer.add_object(to_unicode),
            }
        )
    )


def caption_text_operators(font: CaptionFont, text: str, size: float, x: float, y: float) -> bytes:
    """``text`` at ``size`` pt with its baseline at (x, y), in CIDs of :data:`_TEXT_FONT`."""
    cids = "".join(f"{font.cid(char):04X}" for char in text)
    return b"BT %s %g Tf %g %g Td <%s> Tj ET" % (_TEXT_FONT.encode(), size, x, y, cids.encode())


class ImageWithCaption(PdfContent):  # type: ignore[misc]
    """An image scaled into a box above a one-line caption in an embedded font subset."""

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
        font = caption_font(self._caption)
        text_width = font.width(self._caption) * font_size / font.units_per_em
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
            assert self.writer is not None, "set_writer() before render()"
            self.set_resource(
                ResourceType.FONT,
                pdf_name(_TEXT_FONT),
                embedded_caption_font(font, self._caption, self.writer),
            )
            x, y = (width - text_width) / 2, _PADDING + font_size * 0.4
            parts.append(b"q %g %g %g rg" % CAPTION_COLOUR)
            parts.append(caption_text_operators(font, self._caption, font_size, x, y))
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
