"""Company seal images (公章): the standard round red seal, drawn from the organisation's name.

The layout follows the common form of a Chinese company seal (GA 241 style): a red ring,
the organisation's name running clockwise along the upper arc with every character
standing upright towards the centre, a five-pointed star in the middle and the seal's
purpose (e.g. 合同专用章) straight across the bottom; transparent background, so the seal
sits over the text of the page like real ink. An uploaded seal PNG is accepted instead,
after :func:`seal_image` has checked it.
"""

from __future__ import annotations

import io
import math
from functools import lru_cache

import pylopdf_fonts_zh_cn  # noqa: F401 - the font files ship with it
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from backend.signing.appearance import FONT_PATH
from backend.signing.errors import InvalidSeal

__all__ = [
    "DEFAULT_PURPOSE",
    "SEAL_RED",
    "generate_round_seal",
    "seal_image",
]

SEAL_RED = (230, 0, 18)
DEFAULT_PURPOSE = "合同专用章"
SERIF_FONT_PATH = FONT_PATH.with_name("NotoSerifSC-Regular.otf")
_SUPERSAMPLE = 3
_MAX_SEAL_PIXELS = 4096
_MIN_SEAL_PIXELS = 64
# Arc covered by the name: wider for long names, never closing the circle.
_MIN_ARC_DEGREES = 150.0
_MAX_ARC_DEGREES = 250.0
_DEGREES_PER_CHARACTER = 24.0


@lru_cache(maxsize=16)
def _font(size: int, serif: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(SERIF_FONT_PATH if serif else FONT_PATH), size)


def generate_round_seal(
    org_name: str, *, purpose: str = DEFAULT_PURPOSE, size_px: int = 600
) -> bytes:
    """A round red company seal for ``org_name`` as a transparent PNG of ``size_px`` square.

    ``purpose`` (合同专用章, 财务专用章, ...) is printed straight under the star; pass
    ``""`` for a plain 公章.
    """
    name = "".join(org_name.split())
    if not name:
        raise InvalidSeal("the organisation name must not be empty")
    if not _MIN_SEAL_PIXELS <= size_px <= _MAX_SEAL_PIXELS:
        raise InvalidSeal(f"size_px must be between {_MIN_SEAL_PIXELS} and {_MAX_SEAL_PIXELS}")
    big = size_px * _SUPERSAMPLE
    # Drawn as an alpha mask (ink = opaque), coloured at the end.
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    centre = big / 2
    ring_width = big * 0.036
    outer = big / 2 - ring_width / 2 - big * 0.01
    draw.ellipse(
        (centre - outer, centre - outer, centre + outer, centre + outer),
        outline=255,
        width=round(ring_width),
    )
    _draw_star(draw, centre, centre, big * 0.165)
    _draw_name_on_arc(mask, name, centre, outer - ring_width / 2, big)
    if purpose.strip():
        _draw_purpose(draw, purpose.strip(), centre, big)
    mask = mask.resize((size_px, size_px), Image.Resampling.LANCZOS)
    seal = Image.new("RGBA", (size_px, size_px), (*SEAL_RED, 0))
    seal.putalpha(mask)
    out = io.BytesIO()
    seal.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _draw_star(draw: ImageDraw.ImageDraw, cx: float, cy: float, radius: float) -> None:
    inner = radius * math.sin(math.radians(18)) / math.sin(math.radians(126))
    points = []
    for i in range(10):
        r = radius if i % 2 == 0 else inner
        angle = math.radians(-90 + i * 36)
        points.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    draw.polygon(points, fill=255)


def _draw_name_on_arc(
    mask: Image.Image, name: str, centre: float, inner_edge: float, big: int
) -> None:
    """Characters clockwise over the top, each upright towards the centre."""
    count = len(name)
    arc = min(_MAX_ARC_DEGREES, max(_MIN_ARC_DEGREES, count * _DEGREES_PER_CHARACTER))
    step = arc / count
    # Glyph height limited by the ring and by the arc length each character gets.
    gap = big * 0.03
    arc_room = 2 * math.pi * (inner_edge - gap - big * 0.06) * step / 360
    size = round(min(big * 0.11, arc_room * 0.95))
    font = _font(size, serif=True)
    baseline_radius = inner_edge - gap - size * 0.58
    stroke = max(1, round(size * 0.02))
    for index, char in enumerate(name):
        # 0 degrees = straight up; negative to the left.
        angle = -arc / 2 + step * (index + 0.5)
        tile = Image.new("L", (size * 2, size * 2), 0)
        ImageDraw.Draw(tile).text(
            (size, size),
            char,
            font=font,
            fill=255,
            anchor="mm",
            stroke_width=stroke,
            stroke_fill=255,
        )
        # Stretched vertically like the narrow characters of a real seal.
        tile = tile.resize((round(tile.width * 0.8), round(tile.height * 1.1)))
        rotated = tile.rotate(-angle, resample=Image.Resampling.BICUBIC, expand=True)
        rad = math.radians(angle)
        x = centre + baseline_radius * math.sin(rad)
        y = centre - baseline_radius * math.cos(rad)
        mask.paste(
            rotated,
            (round(x - rotated.width / 2), round(y - rotated.height / 2)),
            rotated,
        )


def _draw_purpose(draw: ImageDraw.ImageDraw, purpose: str, centre: float, big: int) -> None:
    size = round(big * 0.085)
    font = _font(size, serif=True)
    width = font.getlength(purpose)
    max_width = big * 0.5
    if width > max_width:
        size = max(8, round(size * max_width / width))
        font = _font(size, serif=True)
    draw.text(
        (centre, centre + big * 0.28),
        purpose,
        font=font,
        fill=255,
        anchor="mm",
        stroke_width=max(1, round(size * 0.03)),
        stroke_fill=255,
    )


def seal_image(png: bytes) -> Image.Image:
    """Decode a generated or uploaded seal as RGBA with a transparent background.

    Raises :class:`InvalidSeal` for something that is not an image, too small or too
    large, or without any visible ink. A scanned seal on white paper gets its paper made
    transparent.
    """
    try:
        with Image.open(io.BytesIO(png)) as raw:
            if raw.format not in ("PNG", "WEBP"):
                raise InvalidSeal("the seal must be a PNG image (transparent background)")
            if max(raw.size) > _MAX_SEAL_PIXELS or min(raw.size) < _MIN_SEAL_PIXELS:
                raise InvalidSeal(
                    f"the seal image must be between {_MIN_SEAL_PIXELS} and "
                    f"{_MAX_SEAL_PIXELS} pixels wide and high"
                )
            raw.load()
            image = ImageOps.exif_transpose(raw).convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidSeal("the seal is not a readable image") from exc
    red, green, blue, alpha = image.split()
    # Paper (light, unsaturated) becomes transparent; ink keeps its own alpha.
    paper = (
        Image.merge("RGB", (red, green, blue)).convert("L").point(lambda v: 255 if v > 235 else 0)
    )
    alpha = Image.composite(Image.new("L", image.size, 0), alpha, paper)
    if alpha.point(lambda v: 255 if v > 24 else 0).getbbox() is None:
        raise InvalidSeal("the seal image holds no visible ink")
    image.putalpha(alpha)
    return image
