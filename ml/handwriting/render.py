"""Vector strokes → a cropped, transparent PNG of smooth, pen-like ink.

Each stroke is smoothed (centripetal Catmull-Rom), given a speed- and pressure-dependent
width, and drawn as a chain of trapezoids with round joins on a 3× supersampled mask, then
box-filtered down: antialiased edges with no dependence on the client's canvas.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping

from PIL import Image, ImageDraw, PngImagePlugin

from ml.handwriting.geometry import character_height, path_length, pen_widths, smooth
from ml.handwriting.strokes import Drawing, empty_error

INK = (22, 26, 40)
"""Blue-black, like a gel pen; dark enough for the signing core's ink test."""
MAX_SIDE = 800
"""Longest side of the PNG in px (the signing core never scales it down)."""
CHAR_HEIGHT_PX = 170
"""One character's height in the PNG when the long side allows it."""
SUPERSAMPLE = 3
MAX_SAMPLES = 12_000
EVIDENCE_KEY = "signlink:handwriting"
"""PNG iTXt key that carries the stroke evidence (hash and features) with the image."""


def render_png(drawing: Drawing, evidence: Mapping[str, object] | None = None) -> bytes:
    """The drawing as an RGBA PNG cropped to its ink (and a 1 px transparent border);
    ``evidence`` goes into an iTXt chunk."""
    if not drawing.strokes:
        raise empty_error()
    bbox = drawing.bbox()
    char_h = character_height(bbox)
    widths = [pen_widths(stroke, char_h) for stroke in drawing.strokes]
    margin = max(max(ws) for ws in widths) / 2 + 1
    min_x, min_y = bbox[0] - margin, bbox[1] - margin
    span_w, span_h = bbox[2] - bbox[0] + 2 * margin, bbox[3] - bbox[1] + 2 * margin
    scale = min(MAX_SIDE / max(span_w, span_h), CHAR_HEIGHT_PX / char_h)
    out_w = max(1, math.ceil(span_w * scale))
    out_h = max(1, math.ceil(span_h * scale))
    k = scale * SUPERSAMPLE
    mask = Image.new("L", (out_w * SUPERSAMPLE, out_h * SUPERSAMPLE), 0)
    draw = ImageDraw.Draw(mask)
    # A sample every 1.6 output px (smooth curves, few polygons), but never more than
    # MAX_SAMPLES in all, so no drawing the parser accepts can take long to render.
    ink = sum(path_length(stroke) for stroke in drawing.strokes)
    step = max(1.6 / scale, ink / MAX_SAMPLES)

    for stroke, ws in zip(drawing.strokes, widths, strict=True):
        xy = [((pt.x - min_x) * k, (pt.y - min_y) * k) for pt in stroke]
        samples = smooth(xy, [w * k / 2 for w in ws], step * k)
        _ink_stroke(draw, samples)

    alpha = mask.reduce(SUPERSAMPLE)
    box = alpha.getbbox()
    if box is None:
        raise empty_error()
    # Cropped to the ink plus one transparent pixel, so edges resample cleanly in the PDF.
    alpha = alpha.crop((box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1))
    image = Image.new("RGBA", alpha.size, (*INK, 0))
    image.putalpha(alpha)
    info = PngImagePlugin.PngInfo()
    if evidence is not None:
        info.add_itxt(EVIDENCE_KEY, json.dumps(dict(evidence), sort_keys=True, ensure_ascii=True))
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info, compress_level=2)
    return out.getvalue()


def _dot(draw: ImageDraw.ImageDraw, x: float, y: float, r: float) -> None:
    draw.ellipse((x - r, y - r, x + r, y + r), fill=255)


def _ink_stroke(draw: ImageDraw.ImageDraw, samples: list[tuple[float, float, float]]) -> None:
    """Union of trapezoids between consecutive samples (each as wide as the pen at its
    ends) and round joins where the direction turns; radii are in supersampled px."""
    x0, y0, r0 = samples[0]
    r0 = max(r0, 0.75)
    _dot(draw, x0, y0, r0)
    prev_dir: tuple[float, float] | None = None
    for x1, y1, r1 in samples[1:]:
        r1 = max(r1, 0.75)
        dx, dy = x1 - x0, y1 - y0
        d = math.hypot(dx, dy)
        if d < 1e-6:
            continue
        ux, uy = dx / d, dy / d
        nx, ny = -uy, ux
        draw.polygon(
            [
                (x0 + nx * r0, y0 + ny * r0),
                (x1 + nx * r1, y1 + ny * r1),
                (x1 - nx * r1, y1 - ny * r1),
                (x0 - nx * r0, y0 - ny * r0),
            ],
            fill=255,
        )
        # A join is needed only where the outline would show a notch (> ~12° turn).
        if prev_dir is not None and prev_dir[0] * ux + prev_dir[1] * uy < 0.978:
            _dot(draw, x0, y0, r0)
        prev_dir = (ux, uy)
        x0, y0, r0 = x1, y1, r1
    _dot(draw, x0, y0, r0)


def read_evidence(png: bytes) -> dict[str, object] | None:
    """The evidence :func:`render_png` stored in the PNG, or None (older or foreign PNGs)."""
    try:
        with Image.open(io.BytesIO(png)) as im:
            text = getattr(im, "text", {}).get(EVIDENCE_KEY)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    if not isinstance(text, str):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
