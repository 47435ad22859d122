"""Stroke fixtures: names written the way a finger writes them on the pad, and non-signatures.

Characters are polylines in a unit box (x right, y down). `write_name` moves a simulated
pen along them at 60 Hz with a minimum-jerk speed profile (slow at both ends of a stroke,
fast in the middle), a little tremor, pen-up pauses, and optionally stylus pressure.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from typing import Any

Poly = list[tuple[float, float]]

GLYPHS: dict[str, list[Poly]] = {
    "张": [
        [(0.05, 0.15), (0.33, 0.13), (0.3, 0.4)],
        [(0.08, 0.4), (0.33, 0.42), (0.3, 0.75), (0.15, 0.9)],
        [(0.55, 0.08), (0.55, 0.6)],
        [(0.85, 0.1), (0.62, 0.3)],
        [(0.45, 0.45), (0.95, 0.43)],
        [(0.55, 0.6), (0.52, 0.9), (0.68, 0.8)],
        [(0.62, 0.52), (0.95, 0.92)],
    ],
    "三": [
        [(0.2, 0.2), (0.8, 0.18)],
        [(0.27, 0.5), (0.73, 0.49)],
        [(0.1, 0.85), (0.9, 0.82)],
    ],
    "李": [
        [(0.1, 0.22), (0.9, 0.2)],
        [(0.5, 0.05), (0.5, 0.5)],
        [(0.48, 0.25), (0.15, 0.48)],
        [(0.52, 0.25), (0.88, 0.45)],
        [(0.25, 0.55), (0.72, 0.55), (0.5, 0.7)],
        [(0.5, 0.68), (0.5, 0.95), (0.42, 0.9)],
        [(0.1, 0.76), (0.9, 0.74)],
    ],
    "经": [
        [(0.25, 0.05), (0.1, 0.3), (0.3, 0.3)],
        [(0.3, 0.22), (0.08, 0.6), (0.35, 0.55)],
        [(0.05, 0.85), (0.35, 0.72)],
        [(0.45, 0.12), (0.88, 0.12), (0.5, 0.42)],
        [(0.58, 0.2), (0.92, 0.42)],
        [(0.5, 0.62), (0.88, 0.6)],
        [(0.69, 0.45), (0.69, 0.9)],
        [(0.42, 0.92), (0.95, 0.9)],
    ],
    "理": [
        [(0.05, 0.2), (0.35, 0.2)],
        [(0.08, 0.5), (0.33, 0.5)],
        [(0.2, 0.2), (0.2, 0.8)],
        [(0.03, 0.85), (0.38, 0.75)],
        [(0.45, 0.1), (0.45, 0.5)],
        [(0.45, 0.1), (0.92, 0.1), (0.9, 0.5)],
        [(0.45, 0.3), (0.9, 0.3)],
        [(0.45, 0.5), (0.9, 0.5)],
        [(0.67, 0.1), (0.67, 0.88)],
        [(0.5, 0.7), (0.85, 0.7)],
        [(0.42, 0.9), (0.95, 0.9)],
    ],
    "司": [
        [(0.15, 0.1), (0.85, 0.1), (0.85, 0.9), (0.75, 0.85)],
        [(0.2, 0.35), (0.65, 0.35)],
        [(0.25, 0.55), (0.25, 0.8)],
        [(0.25, 0.55), (0.6, 0.55), (0.6, 0.78)],
        [(0.25, 0.78), (0.6, 0.78)],
    ],
    "马": [
        [(0.15, 0.12), (0.7, 0.12), (0.6, 0.5)],
        [(0.35, 0.15), (0.3, 0.5), (0.85, 0.5), (0.8, 0.9), (0.7, 0.85)],
        [(0.1, 0.72), (0.75, 0.68)],
    ],
    "小": [
        [(0.5, 0.05), (0.5, 0.9), (0.4, 0.82)],
        [(0.3, 0.35), (0.12, 0.7)],
        [(0.7, 0.35), (0.88, 0.68)],
    ],
    "川": [
        [(0.25, 0.1), (0.22, 0.6), (0.08, 0.9)],
        [(0.5, 0.15), (0.5, 0.75)],
        [(0.78, 0.05), (0.78, 0.95)],
    ],
}

NAMES = {2: "张三", 3: "李经理", 4: "司马小川"}


def _pen(
    poly: Poly, t0: float, rng: random.Random, speed: float, stylus: bool
) -> list[dict[str, float]]:
    """Points along one stroke, sampled at 60 Hz with a minimum-jerk profile."""
    lengths = [math.dist(a, b) for a, b in itertools.pairwise(poly)]
    total = sum(lengths) or 1.0
    duration = max(total / speed, 80.0)
    samples = max(2, round(duration / 16.7))
    out: list[dict[str, float]] = []
    for i in range(samples + 1):
        tau = i / samples
        s = total * (10 * tau**3 - 15 * tau**4 + 6 * tau**5)
        acc = 0.0
        for k, seg in enumerate(lengths):
            a, b = poly[k], poly[k + 1]
            if s <= acc + seg or k == len(lengths) - 1:
                f = 0.0 if seg == 0 else min(max((s - acc) / seg, 0.0), 1.0)
                x, y = a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f
                break
            acc += seg
        p = 0.35 + 0.4 * math.sin(math.pi * tau) if stylus else 0.5
        out.append(
            {
                "x": x + rng.gauss(0, 0.35),
                "y": y + rng.gauss(0, 0.35),
                "t": round(t0 + tau * duration),
                "p": round(p, 3),
            }
        )
    return out


def write_name(
    name: str,
    *,
    char_size: float = 90.0,
    pad: tuple[float, float] | None = None,
    seed: int = 1,
    stylus: bool = False,
    speed: float = 0.45,
) -> dict[str, Any]:
    """The pad's JSON object for `name` written left to right."""
    rng = random.Random(seed)
    width, height = pad or (max(360.0, len(name) * char_size * 1.05 + 40), 160.0)
    left = (width - len(name) * char_size * 1.02) / 2
    top = (height - char_size) / 2
    strokes: list[list[dict[str, float]]] = []
    t = 0.0
    for i, ch in enumerate(name):
        size = char_size * rng.uniform(0.92, 1.06)
        ox = left + i * char_size * 1.02 + rng.uniform(-3, 3)
        oy = top + rng.uniform(-4, 4)
        slant = rng.uniform(-0.06, 0.06)
        for poly in GLYPHS[ch]:
            pts = [(ox + (u + slant * (0.5 - v)) * size, oy + v * size) for u, v in poly]
            stroke = _pen(pts, t, rng, speed * rng.uniform(0.8, 1.25), stylus)
            for pt in stroke:
                pt["x"] = round(min(max(pt["x"], 0.0), width), 1)
                pt["y"] = round(min(max(pt["y"], 0.0), height), 1)
            strokes.append(stroke)
            t = strokes[-1][-1]["t"] + rng.uniform(110, 260)
    return {"width": width, "height": height, "strokes": strokes}


def write_characters(name: str, *, box: float = 120.0, seed: int = 1) -> dict[str, Any]:
    """The character-by-character mode: one box per character."""
    chars = []
    t = 0
    for i, ch in enumerate(name):
        one = write_name(ch, char_size=box * 0.8, pad=(box, box), seed=seed + i)
        for stroke in one["strokes"]:
            for pt in stroke:
                pt["t"] += t
        t = one["strokes"][-1][-1]["t"] + 400
        chars.append(one)
    return {"chars": chars}


def _drawn(strokes: list[Poly], t_per_px: float = 2.2) -> dict[str, Any]:
    out = []
    t = 0.0
    rng = random.Random(7)
    for poly in strokes:
        out.append(_pen(poly, t, rng, 1 / t_per_px, False))
        t = out[-1][-1]["t"] + 150
    for stroke in out:
        for pt in stroke:
            pt["x"] = round(min(max(pt["x"], 0.0), 360.0), 1)
            pt["y"] = round(min(max(pt["y"], 0.0), 160.0), 1)
    return {"width": 360, "height": 160, "strokes": out}


def zigzag() -> dict[str, Any]:
    """One stroke back and forth across the pad, like ticking a box with a saw."""
    return _drawn([[(40 + i * 14, 40 if i % 2 else 120) for i in range(21)]])


def box_scribble() -> dict[str, Any]:
    """A box coloured in: a dense tangle of loops over the same patch, in a few strokes."""
    rng = random.Random(3)
    strokes = []
    for _ in range(3):
        strokes.append(
            [
                (180 + 70 * math.cos(a) + rng.uniform(-12, 12), 80 + 45 * math.sin(a * 1.7))
                for a in (k * 0.7 for k in range(40))
            ]
        )
    return _drawn(strokes)


INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "empty": ({"width": 360, "height": 160, "strokes": []}, "handwriting_empty"),
    "dot": (_drawn([[(180, 80), (181, 80.5), (181.5, 81)]]), "handwriting_dot"),
    "line": (_drawn([[(40, 80), (320, 86)]]), "handwriting_line"),
    "zigzag": (zigzag(), "handwriting_scribble"),
    "box scribble": (box_scribble(), "handwriting_scribble"),
}


def as_json(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"))
