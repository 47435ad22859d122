"""The visible signature: the handwriting, with the signer's name and time in small CJK text."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import pylopdf_fonts_zh_cn
from PIL import Image, ImageOps, UnidentifiedImageError
from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.stamp import TextStampStyle

from backend.signing.errors import InvalidHandwriting

__all__ = ["CHINA_TIME", "caption_text", "handwriting_image", "signature_stamp_style"]

CHINA_TIME = timezone(timedelta(hours=8), "UTC+8")
FONT_PATH = Path(pylopdf_fonts_zh_cn.__file__).parent / "NotoSansSC-Regular.otf"
CAPTION_PARAM = "caption"
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


@lru_cache(maxsize=8)
def _font(size: int) -> GlyphAccumulatorFactory:
    return GlyphAccumulatorFactory(str(FONT_PATH), font_size=size)


def signature_stamp_style(handwriting: Image.Image, box_height: float) -> TextStampStyle:
    """Handwriting scaled to fill the box above a one-line caption (``%(caption)s``)."""
    font_size = _caption_font_size(box_height)
    caption_band = round(font_size * 1.5) + _PADDING
    return TextStampStyle(
        stamp_text=f"%({CAPTION_PARAM})s",
        text_box_style=TextBoxStyle(
            font=_font(font_size),
            font_size=font_size,
            text_color=(0.2, 0.2, 0.2),
            box_layout_rule=layout.SimpleBoxLayoutRule(
                x_align=layout.AxisAlignment.ALIGN_MID,
                y_align=layout.AxisAlignment.ALIGN_MID,
                margins=layout.Margins(),
            ),
        ),
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MIN,
            margins=layout.Margins(left=_PADDING, right=_PADDING, top=0, bottom=_PADDING),
            inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT,
        ),
        background=PdfImage(handwriting),
        background_opacity=1.0,
        # Sits right on top of the caption, like a signature on a line.
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MIN,
            margins=layout.Margins(
                left=_PADDING, right=_PADDING, top=_PADDING, bottom=caption_band
            ),
            inner_content_scaling=layout.InnerScaling.STRETCH_TO_FIT,
        ),
        border_width=0,
    )
