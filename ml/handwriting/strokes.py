"""The pad's vector strokes: parsing with hard limits, character assembly, canonical hash.

Wire format (what ``pwa/static/js/signature-pad.js`` sends in the ``strokes`` field)::

    {"width": W, "height": H, "strokes": [[{"x": .., "y": .., "t": .., "p": ..}, ...], ...]}

x/y in CSS px of a W×H pad (0 <= x <= W, 0 <= y <= H), t in ms since the first point,
p = pressure 0..1 (optional, 0.5 when the device reports none). The character-by-character
mode sends one such object per box: ``{"chars": [{"width", "height", "strokes"}, ...]}``;
:func:`parse_strokes` lays the boxes out left to right into one drawing.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

# Limits (documented in ml/handwriting/__init__.py); anything beyond is refused, never trimmed.
MAX_PAYLOAD_CHARS = 600_000
"""Longest accepted JSON text; a 20 s signature at 120 Hz is about 120 000 characters."""
MAX_POINTS = 12_000
"""Points in the whole drawing (all strokes, all character boxes)."""
MAX_STROKES = 300
"""Strokes in the whole drawing."""
MAX_CHARS = 8
"""Boxes in the character-by-character mode."""
MIN_PAD_SIDE = 16.0
MAX_PAD_SIDE = 4096.0
"""Pad width and height in CSS px."""
COORD_SLACK = 2.0
"""How far (CSS px) a point may lie outside its pad, for rounding on the client."""
MAX_DURATION_MS = 600_000
"""Largest t: ten minutes from the first point."""
DEFAULT_PRESSURE = 0.5

CANONICAL_VERSION = 1


class HandwritingError(ValueError):
    """Input or drawing refused; ``message_zh``/``message_en`` are fit to show the signer."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en


def _malformed(detail: str) -> HandwritingError:
    return HandwritingError(
        "handwriting_malformed",
        "签名数据无法识别，请清除后重新签名。",
        f"The signature data could not be read ({detail}); clear the pad and sign again.",
    )


def _too_large(detail: str) -> HandwritingError:
    return HandwritingError(
        "handwriting_too_large",
        "签名数据过大，请清除后简洁地重新签名。",
        f"The signature is too large ({detail}); clear the pad and sign again.",
    )


def _out_of_range(detail: str) -> HandwritingError:
    return HandwritingError(
        "handwriting_out_of_range",
        "签名数据中有超出签名框的坐标，请清除后重新签名。",
        f"The signature has values out of range ({detail}); clear the pad and sign again.",
    )


def empty_error() -> HandwritingError:
    return HandwritingError(
        "handwriting_empty", "请先在框内签名。", "Draw your signature in the box first."
    )


class Point(NamedTuple):
    x: float
    y: float
    t: float
    p: float


Stroke = tuple[Point, ...]


@dataclass(frozen=True, slots=True)
class Drawing:
    """One signature as vectors: strokes of points on a ``width`` × ``height`` pad."""

    width: float
    height: float
    strokes: tuple[Stroke, ...]

    @property
    def point_count(self) -> int:
        return sum(len(s) for s in self.strokes)

    def bbox(self) -> tuple[float, float, float, float]:
        """(min x, min y, max x, max y) of the points; raises on an empty drawing."""
        xs = [pt.x for s in self.strokes for pt in s]
        ys = [pt.y for s in self.strokes for pt in s]
        if not xs:
            raise empty_error()
        return min(xs), min(ys), max(xs), max(ys)


def _reject_constant(name: str) -> Any:
    raise _malformed(f"{name} is not a number")


def _number(value: object, what: str) -> float:
    # bool is an int in Python; JSON true/false is not a coordinate.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _malformed(f"{what} must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise _out_of_range(f"{what} is not finite")
    if abs(value) > 1e9:
        raise _out_of_range(f"{what} is huge")
    return float(value)


def _pad_side(value: object, what: str) -> float:
    side = _number(value, what)
    if not MIN_PAD_SIDE <= side <= MAX_PAD_SIDE:
        raise _out_of_range(f"{what} must be {MIN_PAD_SIDE:g}..{MAX_PAD_SIDE:g}")
    return side


def _drawing(obj: object, budget: list[int]) -> Drawing:
    if not isinstance(obj, dict):
        raise _malformed("a drawing must be an object")
    width = _pad_side(obj.get("width"), "width")
    height = _pad_side(obj.get("height"), "height")
    raw_strokes = obj.get("strokes")
    if not isinstance(raw_strokes, list):
        raise _malformed("strokes must be a list")
    budget[1] -= len(raw_strokes)
    if budget[1] < 0:
        raise _too_large(f"more than {MAX_STROKES} strokes")
    strokes: list[Stroke] = []
    for raw in raw_strokes:
        if not isinstance(raw, list):
            raise _malformed("a stroke must be a list of points")
        budget[0] -= len(raw)
        if budget[0] < 0:
            raise _too_large(f"more than {MAX_POINTS} points")
        if not raw:
            continue  # an empty stroke carries no ink; the pad never sends one
        points: list[Point] = []
        last_t = -1.0
        for item in raw:
            if not isinstance(item, dict):
                raise _malformed("a point must be an object")
            x = _number(item.get("x"), "x")
            y = _number(item.get("y"), "y")
            t = _number(item.get("t", 0), "t")
            p = _number(item.get("p", DEFAULT_PRESSURE), "p")
            if not -COORD_SLACK <= x <= width + COORD_SLACK:
                raise _out_of_range("x outside the pad")
            if not -COORD_SLACK <= y <= height + COORD_SLACK:
                raise _out_of_range("y outside the pad")
            if not 0 <= t <= MAX_DURATION_MS:
                raise _out_of_range(f"t must be 0..{MAX_DURATION_MS} ms")
            if t < last_t:
                raise _malformed("time goes backwards within a stroke")
            if not 0 <= p <= 1:
                raise _out_of_range("pressure must be 0..1")
            last_t = t
            points.append(Point(x, y, t, p))
        strokes.append(tuple(points))
    return Drawing(width, height, tuple(strokes))


def parse_strokes(text: str) -> Drawing:
    """The pad's JSON (free or character-by-character) as one validated :class:`Drawing`.

    Raises :class:`HandwritingError` for anything malformed, out of range or too large;
    never any other exception for any input string.
    """
    if not isinstance(text, str):
        raise _malformed("not text")
    if len(text) > MAX_PAYLOAD_CHARS:
        raise _too_large(f"longer than {MAX_PAYLOAD_CHARS} characters")
    if not text.strip():
        raise empty_error()
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except HandwritingError:
        raise
    except (ValueError, RecursionError):
        raise _malformed("not valid JSON") from None
    budget = [MAX_POINTS, MAX_STROKES]
    if isinstance(obj, dict) and "chars" in obj:
        boxes = obj["chars"]
        if not isinstance(boxes, list) or not boxes:
            raise _malformed("chars must be a non-empty list")
        if len(boxes) > MAX_CHARS:
            raise _too_large(f"more than {MAX_CHARS} character boxes")
        return assemble_characters([_drawing(box, budget) for box in boxes])
    return _drawing(obj, budget)


def assemble_characters(boxes: Sequence[Drawing]) -> Drawing:
    """Boxes written one character each, laid out left to right as one signature.

    Every box is scaled to the tallest box's height; each character keeps its vertical
    place in its box (so 一 stays in the middle) and is placed after the previous one's
    ink with a gap of a tenth of the height. An empty box is refused with its position.
    """
    if not boxes:
        raise empty_error()
    height = max(b.height for b in boxes)
    gap = height * 0.1
    strokes: list[Stroke] = []
    cursor = 0.0
    for index, box in enumerate(boxes, start=1):
        if not box.strokes:
            raise HandwritingError(
                "handwriting_char_missing",
                f"第 {index} 个字还没有写，请在每个框内各写一个字。",
                f"Box {index} is empty: write one character in each box.",
            )
        scale = height / box.height
        min_x, _, max_x, _ = box.bbox()
        dx = cursor - min_x * scale
        for stroke in box.strokes:
            strokes.append(
                tuple(Point(pt.x * scale + dx, pt.y * scale, pt.t, pt.p) for pt in stroke)
            )
        cursor += (max_x - min_x) * scale + gap
    width = max(cursor - gap, 1.0)
    return Drawing(min(max(width, MIN_PAD_SIDE), MAX_PAD_SIDE * MAX_CHARS), height, tuple(strokes))


def _fmt(value: float, digits: int) -> str:
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def canonical_json(drawing: Drawing) -> bytes:
    """Byte-stable form of a drawing: fixed key order, x/y to 0.01 px, t to 1 ms, p to 0.001."""
    fmt: Callable[[float, int], str] = _fmt
    strokes = ",".join(
        "["
        + ",".join(
            f"[{fmt(pt.x, 2)},{fmt(pt.y, 2)},{fmt(pt.t, 0)},{fmt(pt.p, 3)}]" for pt in stroke
        )
        + "]"
        for stroke in drawing.strokes
    )
    return (
        f'{{"v":{CANONICAL_VERSION},"width":{fmt(drawing.width, 2)},'
        f'"height":{fmt(drawing.height, 2)},"strokes":[{strokes}]}}'
    ).encode()


def strokes_sha256(drawing: Drawing) -> str:
    """SHA-256 (hex) of :func:`canonical_json`: the evidence trail's handle on the strokes."""
    return hashlib.sha256(canonical_json(drawing)).hexdigest()


def to_json(drawing: Drawing) -> str:
    """The drawing in the pad's wire format (used by tests, fixtures and the bench)."""
    return json.dumps(
        {
            "width": drawing.width,
            "height": drawing.height,
            "strokes": [[pt._asdict() for pt in s] for s in drawing.strokes],
        },
        separators=(",", ":"),
    )
