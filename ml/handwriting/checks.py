"""Is this drawing a signature? Not empty, not a dot, a line or a scribble; enough ink."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ml.handwriting.geometry import character_height, path_length, resample
from ml.handwriting.strokes import Drawing, HandwritingError, empty_error

MIN_EXTENT = 20.0
"""CSS px: a drawing whose box is smaller on its long side is a dot or a tap."""
MIN_THICKNESS = 0.1
"""Minor/major spread of all ink: below it the drawing is (nearly) one straight line."""
INK_PER_CHARACTER = 1.5
"""Ink length per character of the name, in character heights (张 is about 6, 一 is 0.8)."""
MAX_REVERSALS = 8
MAX_REVERSALS_PER_HEIGHT = 0.45
"""A zigzag: more than this many pen reversals (turns over 140°), densely packed."""
MAX_OVERPAINT = 2.6
"""A box scribble: ink passes over the same small cells again and again."""
MAX_SAMPLES = 12_000
"""Resampled points per measurement, whatever the drawing (bounds the time)."""


def name_characters(name: str) -> int:
    """How many CJK characters the name has (0 for a Latin name)."""
    return sum(
        1
        for ch in name
        if "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or ch >= "\U00020000"
    )


@dataclass(frozen=True, slots=True)
class Shape:
    """Measurements of a drawing's ink that the checks rely on (CSS px)."""

    strokes: int
    width: float
    height: float
    char_height: float
    ink_length: float
    thickness: float
    reversals: int
    overpaint: float


def measure(drawing: Drawing) -> Shape:
    min_x, min_y, max_x, max_y = drawing.bbox()
    box = (min_x, min_y, max_x, max_y)
    char_h = character_height(box)
    ink = sum(path_length(s) for s in drawing.strokes)
    step = max(char_h / 24, 0.5, ink / MAX_SAMPLES)
    samples = [resample(s, step) for s in drawing.strokes]
    flat = [pt for s in samples for pt in s]

    # Principal spread of evenly spaced ink samples: a line has one long axis and no width.
    n = len(flat)
    mx = sum(p[0] for p in flat) / n
    my = sum(p[1] for p in flat) / n
    sxx = sum((p[0] - mx) ** 2 for p in flat) / n
    syy = sum((p[1] - my) ** 2 for p in flat) / n
    sxy = sum((p[0] - mx) * (p[1] - my) for p in flat) / n
    half_trace = (sxx + syy) / 2
    root = math.sqrt(max(half_trace**2 - (sxx * syy - sxy * sxy), 0.0))
    major, minor = half_trace + root, max(half_trace - root, 0.0)
    thickness = math.sqrt(minor / major) if major > 0 else 0.0

    # Reversals: the direction turns back on itself (coarse samples ignore finger jitter).
    coarse_step = max(char_h / 8, 1.0, ink / MAX_SAMPLES)
    reversals = 0
    for stroke in drawing.strokes:
        pts = resample(stroke, coarse_step)
        for a, b, c in zip(pts, pts[1:], pts[2:], strict=False):
            ux, uy = b[0] - a[0], b[1] - a[1]
            vx, vy = c[0] - b[0], c[1] - b[1]
            nu, nv = math.hypot(ux, uy), math.hypot(vx, vy)
            if nu * nv > 0 and (ux * vx + uy * vy) / (nu * nv) < -0.766:  # cos 140°
                reversals += 1

    # Overpaint: samples per distinct grid cell, 1 for ink that never crosses itself.
    cell = max(char_h / 10, 0.5)
    per_cell = cell / step
    cells = {(int(p[0] // cell), int(p[1] // cell)) for p in flat}
    overpaint = n / (len(cells) * per_cell) if cells else 0.0

    return Shape(
        strokes=len(drawing.strokes),
        width=max_x - min_x,
        height=max_y - min_y,
        char_height=char_h,
        ink_length=ink,
        thickness=thickness,
        reversals=reversals,
        overpaint=overpaint,
    )


def check_drawing(drawing: Drawing, signer_name: str = "") -> Shape:
    """Refuse what is not a handwritten name; returns the measurements when it passes.

    Raises :class:`HandwritingError` with one of the codes ``handwriting_empty``,
    ``handwriting_dot``, ``handwriting_line``, ``handwriting_too_few_strokes``,
    ``handwriting_too_little``, ``handwriting_scribble``.
    """
    if not drawing.strokes:
        raise empty_error()
    shape = measure(drawing)
    if max(shape.width, shape.height) < MIN_EXTENT or shape.ink_length < MIN_EXTENT:
        raise HandwritingError(
            "handwriting_dot",
            "签名太小，请在框内用正常大小书写您的姓名。",
            "The signature is too small: write your name at a normal size.",
        )
    if shape.thickness < MIN_THICKNESS:
        raise HandwritingError(
            "handwriting_line",
            "这看起来是一条线，请书写您的姓名。",
            "That looks like a line: write your name.",
        )
    ink_heights = shape.ink_length / shape.char_height
    if (
        shape.reversals > MAX_REVERSALS and shape.reversals / ink_heights > MAX_REVERSALS_PER_HEIGHT
    ) or shape.overpaint > MAX_OVERPAINT:
        raise HandwritingError(
            "handwriting_scribble",
            "这看起来是随意涂画，请清除后书写您的姓名。",
            "That looks like a scribble: clear the pad and write your name.",
        )
    chars = name_characters(signer_name)
    if chars >= 2 and shape.strokes < 2:
        raise HandwritingError(
            "handwriting_too_few_strokes",
            f"签名笔画过少，请完整书写您的姓名“{signer_name}”。",
            "Too few strokes: write your full name.",
        )
    needed = INK_PER_CHARACTER * max(chars, 1) * shape.char_height
    if shape.ink_length < needed:
        raise HandwritingError(
            "handwriting_too_little",
            "签名笔迹过少，请用手指在框内清晰书写您的姓名。",
            "Too little ink: write your full name in the box.",
        )
    return shape
