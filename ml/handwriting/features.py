"""Stroke dynamics kept with the evidence: how long, how fast, how hard the signer wrote."""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import asdict, dataclass

from ml.handwriting.geometry import path_length
from ml.handwriting.strokes import Drawing


@dataclass(frozen=True, slots=True)
class StrokeFeatures:
    """Times in ms, lengths in CSS px of the pad, speeds in px/ms, pressure 0..1."""

    stroke_count: int
    point_count: int
    duration_ms: float
    pen_down_ms: float
    pen_up_ms: float
    ink_length: float
    width: float
    height: float
    pad_width: float
    pad_height: float
    speed_mean: float
    speed_median: float
    speed_p95: float
    speed_std: float
    pressure_reported: bool
    pressure_mean: float
    pressure_std: float
    pressure_min: float
    pressure_max: float

    def as_dict(self) -> dict[str, float | int | bool]:
        """JSON-ready, floats rounded to what the pad can measure."""
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, math.floor(q * len(sorted_values)))]


def stroke_features(drawing: Drawing) -> StrokeFeatures:
    points = [pt for s in drawing.strokes for pt in s]
    if not points:
        return StrokeFeatures(0, 0, 0, 0, 0, 0, 0, 0, drawing.width, drawing.height,
                              0, 0, 0, 0, False, 0, 0, 0, 0)  # fmt: skip
    times = [pt.t for pt in points]
    duration = max(times) - min(times)
    pen_down = sum(s[-1].t - s[0].t for s in drawing.strokes)
    speeds: list[float] = []
    for stroke in drawing.strokes:
        for a, b in itertools.pairwise(stroke):
            if b.t > a.t:  # the pad's clock has 1 ms steps
                speeds.append(math.hypot(b.x - a.x, b.y - a.y) / max(b.t - a.t, 1.0))
    speeds.sort()
    pressures = [pt.p for pt in points]
    min_x, min_y, max_x, max_y = drawing.bbox()
    return StrokeFeatures(
        stroke_count=len(drawing.strokes),
        point_count=len(points),
        duration_ms=duration,
        pen_down_ms=pen_down,
        pen_up_ms=max(duration - pen_down, 0.0),
        ink_length=sum(path_length(s) for s in drawing.strokes),
        width=max_x - min_x,
        height=max_y - min_y,
        pad_width=drawing.width,
        pad_height=drawing.height,
        speed_mean=statistics.fmean(speeds) if speeds else 0.0,
        speed_median=_quantile(speeds, 0.5),
        speed_p95=_quantile(speeds, 0.95),
        speed_std=statistics.pstdev(speeds) if len(speeds) > 1 else 0.0,
        pressure_reported=min(pressures) != max(pressures),
        pressure_mean=statistics.fmean(pressures),
        pressure_std=statistics.pstdev(pressures) if len(pressures) > 1 else 0.0,
        pressure_min=min(pressures),
        pressure_max=max(pressures),
    )
