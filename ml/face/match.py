"""Face match: is the live face the same person as the reference (an ID-card portrait)?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ml.face.detect import Descriptor, FaceFinding, describe, distance, find_faces
from ml.face.image import RGBImage, decode_image

#: Calibrated on ../shared/testdata/faces (see README.md): stricter than face_recognition's
#: 0.6 because a false accept lets someone sign as another person.
DEFAULT_THRESHOLD = 0.55
#: A face narrower than this (pixels, full resolution) gives an unreliable descriptor.
MIN_FACE_PIXELS = 60


@dataclass(frozen=True)
class MatchResult:
    match: bool
    distance: float | None
    threshold: float
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "match": self.match,
            "distance": None if self.distance is None else round(self.distance, 4),
            "threshold": self.threshold,
            "reasons": self.reasons,
        }


@dataclass(frozen=True)
class FaceSample:
    """One picture reduced to its face: a descriptor, or why there is none."""

    descriptor: Descriptor | None
    problem: str = ""


def sample_face(image: RGBImage | bytes, *, role: str) -> FaceSample:
    """The descriptor of the single clear face in a picture; ``role`` prefixes problems."""
    pixels = decode_image(image) if isinstance(image, bytes) else image
    faces = find_faces(pixels)
    if not faces:
        return FaceSample(None, f"{role}_no_face")
    if len(faces) > 1 and _second_is_real(faces):
        return FaceSample(None, f"{role}_multiple_faces")
    face = faces[0]
    if face.box.width < MIN_FACE_PIXELS:
        return FaceSample(None, f"{role}_face_too_small")
    return FaceSample(describe(pixels, face))


def _second_is_real(faces: list[FaceFinding]) -> bool:
    # A tiny face in the background (a poster, a passer-by) next to a large one is ignored.
    return faces[1].box.width >= faces[0].box.width * 0.6


def compare(
    live: Descriptor | Sequence[float],
    reference: Descriptor | Sequence[float],
    threshold: float = DEFAULT_THRESHOLD,
) -> MatchResult:
    d = distance(np.asarray(live, dtype=np.float64), np.asarray(reference, dtype=np.float64))
    ok = d <= threshold
    return MatchResult(ok, d, threshold, [] if ok else ["different_person"])


def match_images(
    live: RGBImage | bytes, reference: RGBImage | bytes, threshold: float = DEFAULT_THRESHOLD
) -> MatchResult:
    """Match two pictures end to end (decode, detect, describe, compare)."""
    a = sample_face(live, role="live")
    b = sample_face(reference, role="reference")
    problems = [p for p in (a.problem, b.problem) if p]
    if a.descriptor is None or b.descriptor is None:
        return MatchResult(False, None, threshold, problems)
    return compare(a.descriptor, b.descriptor, threshold)
