"""Shared stroke geometry: arc length, even resampling, smoothing, pen width."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from ml.handwriting.strokes import Point

XY = tuple[float, float]

# Pen model, in units of the writing's character height (so big and small writing look alike).
PEN_MAX = 0.052
"""Width of a slow stroke."""
PEN_MIN = 0.022
"""Width of a fast stroke."""
FAST = 12.0
"""Speed, in character heights per second, treated as full speed (a quick finger)."""


def path_length(points: Sequence[Point]) -> float:
    return sum(math.hypot(b.x - a.x, b.y - a.y) for a, b in itertools.pairwise(points))


def resample(points: Sequence[Point], step: float) -> list[XY]:
    """Points every ``step`` along the polyline (the first and last point included)."""
    if not points:
        return []
    out: list[XY] = [(points[0].x, points[0].y)]
    carry = 0.0
    for a, b in itertools.pairwise(points):
        seg = math.hypot(b.x - a.x, b.y - a.y)
        if seg == 0:
            continue
        pos = step - carry
        while pos <= seg:
            f = pos / seg
            out.append((a.x + (b.x - a.x) * f, a.y + (b.y - a.y) * f))
            pos += step
        carry = seg - (pos - step)
    last = (points[-1].x, points[-1].y)
    if out[-1] != last:
        out.append(last)
    return out


def character_height(bbox: tuple[float, float, float, float]) -> float:
    """The height of one character: the short side of the writing's box (names run along
    the long side), never below 1 px."""
    w, h = bbox[2] - bbox[0], bbox[3] - bbox[1]
    return max(min(w, h) if min(w, h) > 0.25 * max(w, h) else max(w, h) / 4, 1.0)


def pen_widths(points: Sequence[Point], char_height: float) -> list[float]:
    """Width at each point: thinner when fast, thicker with pressure (if the device varies it).

    The same model as the pad's live ink, with smoothing so the width never jumps."""
    n = len(points)
    if n == 0:
        return []
    base_max = PEN_MAX * char_height
    base_min = PEN_MIN * char_height
    fast = FAST * char_height / 1000  # px per ms
    use_pressure = any(pt.p != points[0].p for pt in points)
    widths = [0.0] * n
    # Start at the stroke's opening speed, so a stroke does not begin with a blob.
    head = points[: min(n, 4)]
    span = head[-1].t - head[0].t
    velocity = path_length(head) / span if span > 0 else 0.0
    width = (base_max + base_min) / 2
    for i, pt in enumerate(points):
        if i:
            prev = points[i - 1]
            dt = max(pt.t - prev.t, 1.0)
            v = math.hypot(pt.x - prev.x, pt.y - prev.y) / dt
            velocity = 0.6 * v + 0.4 * velocity
        speed = min(velocity / fast, 1.0) if fast > 0 else 0.0
        target = base_max - (base_max - base_min) * speed
        if use_pressure:
            target *= 0.55 + 0.9 * min(max(pt.p, 0.0), 1.0)
        width = target if i == 0 else 0.65 * width + 0.35 * target
        widths[i] = width
    return widths


def smooth(
    xy: Sequence[XY], widths: Sequence[float], step: float
) -> list[tuple[float, float, float]]:
    """(x, y, width) samples about ``step`` apart along a centripetal Catmull-Rom spline
    through the points: no corners cut into polygons, no overshoot on sharp turns."""
    n = len(xy)
    if n < 3:
        if n == 2:
            (x0, y0), (x1, y1) = xy
            k = max(1, math.ceil(math.hypot(x1 - x0, y1 - y0) / step))
            return [
                (
                    x0 + (x1 - x0) * i / k,
                    y0 + (y1 - y0) * i / k,
                    widths[0] + (widths[1] - widths[0]) * i / k,
                )
                for i in range(k + 1)
            ]
        return [(xy[0][0], xy[0][1], widths[0])] if n else []
    out: list[tuple[float, float, float]] = [(xy[0][0], xy[0][1], widths[0])]
    for i in range(n - 1):
        p0 = xy[i - 1] if i else xy[0]
        p1, p2 = xy[i], xy[i + 1]
        p3 = xy[i + 2] if i + 2 < n else xy[n - 1]
        seg = math.hypot(p2[0] - p1[0], p2[1] - p1[1])
        k = max(1, math.ceil(seg / step))
        # centripetal parametrisation (alpha = 0.5)
        d01 = max(math.hypot(p1[0] - p0[0], p1[1] - p0[1]) ** 0.5, 1e-6)
        d12 = max(seg**0.5, 1e-6)
        d23 = max(math.hypot(p3[0] - p2[0], p3[1] - p2[1]) ** 0.5, 1e-6)
        # tangents at p1 and p2 (Barry-Goldman, scaled to the [0, 1] segment)
        m1 = [
            d12 * ((p1[j] - p0[j]) / d01 - (p2[j] - p0[j]) / (d01 + d12) + (p2[j] - p1[j]) / d12)
            for j in (0, 1)
        ]
        m2 = [
            d12 * ((p2[j] - p1[j]) / d12 - (p3[j] - p1[j]) / (d12 + d23) + (p3[j] - p2[j]) / d23)
            for j in (0, 1)
        ]
        if i == 0:
            m1 = [p2[0] - p1[0], p2[1] - p1[1]]
        if i + 2 >= n:
            m2 = [p2[0] - p1[0], p2[1] - p1[1]]
        w1, w2 = widths[i], widths[i + 1]
        for s in range(1, k + 1):
            u = s / k
            u2, u3 = u * u, u * u * u
            h00 = 2 * u3 - 3 * u2 + 1
            h10 = u3 - 2 * u2 + u
            h01 = -2 * u3 + 3 * u2
            h11 = u3 - u2
            out.append(
                (
                    h00 * p1[0] + h10 * m1[0] + h01 * p2[0] + h11 * m2[0],
                    h00 * p1[1] + h10 * m1[1] + h01 * p2[1] + h11 * m2[1],
                    w1 + (w2 - w1) * u,
                )
            )
    return out
