"""Handwritten signatures from the pad's vector strokes: parse, check, render, evidence.

One call does it all for the server::

    signature = prepare_signature(form["strokes"], signer_name="张三")
    signature.png             # cropped transparent PNG, rendered here from the vectors
    signature.strokes_sha256  # SHA-256 of the canonical stroke data
    signature.features        # duration, speed and pressure statistics

Every refusal is a :class:`HandwritingError` (``code``, ``message_zh``, ``message_en``);
no input string makes it raise anything else.

Limits (refused beyond, never trimmed):

==========================  =================================================
JSON text                   ``MAX_PAYLOAD_CHARS`` = 600 000 characters
points / strokes            ``MAX_POINTS`` = 12 000 / ``MAX_STROKES`` = 300
character boxes             ``MAX_CHARS`` = 8
pad width, height           16..4096 CSS px
x, y                        within the pad (``COORD_SLACK`` = 2 px for rounding)
t                           0..600 000 ms, never decreasing within a stroke
p (pressure)                0..1 (0.5 when absent)
numbers                     finite JSON numbers; NaN, Infinity, bools refused
==========================  =================================================

A drawing is a signature when it is at least 20 px on its long side, not one straight
line, has at least two strokes for a name of two or more Chinese characters, about 1.5
character heights of ink per character, and is neither a zigzag nor a box scribble
(:mod:`ml.handwriting.checks`). Rendering and checking take a few ms (``bench/handwriting.py``).

Reusing one drawing for several fields of the same signing session: :mod:`ml.handwriting.reuse`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ml.handwriting.checks import Shape, check_drawing, name_characters
from ml.handwriting.features import StrokeFeatures, stroke_features
from ml.handwriting.render import EVIDENCE_KEY, read_evidence, render_png
from ml.handwriting.reuse import DrawnSignature, binding, may_reuse, session_reference
from ml.handwriting.strokes import (
    COORD_SLACK,
    MAX_CHARS,
    MAX_DURATION_MS,
    MAX_PAYLOAD_CHARS,
    MAX_POINTS,
    MAX_STROKES,
    Drawing,
    HandwritingError,
    Point,
    assemble_characters,
    canonical_json,
    parse_strokes,
    strokes_sha256,
    to_json,
)

__all__ = [
    "COORD_SLACK",
    "EVIDENCE_KEY",
    "MAX_CHARS",
    "MAX_DURATION_MS",
    "MAX_PAYLOAD_CHARS",
    "MAX_POINTS",
    "MAX_STROKES",
    "Drawing",
    "DrawnSignature",
    "HandwritingError",
    "Point",
    "PreparedSignature",
    "Shape",
    "StrokeFeatures",
    "assemble_characters",
    "binding",
    "canonical_json",
    "check_drawing",
    "may_reuse",
    "name_characters",
    "parse_strokes",
    "prepare_signature",
    "read_evidence",
    "render_png",
    "session_reference",
    "stroke_features",
    "strokes_sha256",
    "to_json",
]


@dataclass(frozen=True, slots=True)
class PreparedSignature:
    drawing: Drawing
    png: bytes
    strokes_sha256: str
    features: StrokeFeatures

    def evidence(self) -> dict[str, object]:
        """What the audit trail keeps (also embedded in the PNG): hash and features."""
        return {
            "strokes_sha256": self.strokes_sha256,
            "features": self.features.as_dict(),
        }


def prepare_signature(
    strokes_json: str, signer_name: str = "", *, bound: Mapping[str, str] | None = None
) -> PreparedSignature:
    """Parse, check and render the pad's strokes; raises :class:`HandwritingError`.

    ``bound`` (from :func:`binding`) ties the drawing to the intent session it was drawn in;
    it travels in the PNG's evidence with the stroke hash."""
    drawing = parse_strokes(strokes_json)
    check_drawing(drawing, signer_name)
    digest = strokes_sha256(drawing)
    features = stroke_features(drawing)
    evidence = {"v": 1, "strokes_sha256": digest, "features": features.as_dict(), **(bound or {})}
    png = render_png(drawing, evidence)
    return PreparedSignature(drawing, png, digest, features)
