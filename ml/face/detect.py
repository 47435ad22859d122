"""Face detection (dlib HOG), 68-point landmarks and 128-D descriptors.

Detection runs on a downscaled copy; landmarks and descriptors use the full-resolution
pixels (they cost the same at any size and are sharper there). The models ship in the
``face_recognition_models`` package and are loaded once per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import dlib
import face_recognition_models
import numpy as np
import numpy.typing as npt

from ml.face.image import RGBImage, downscale

Points = npt.NDArray[np.float64]
Descriptor = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def centre(self) -> tuple[float, float]:
        return (self.left + self.right) / 2, (self.top + self.bottom) / 2


@dataclass(frozen=True)
class FaceFinding:
    """One face in an image, in that image's pixel coordinates."""

    box: Box
    landmarks: Points  # (68, 2) x, y
    _shape: Any  # dlib.full_object_detection, reused for the descriptor


@dataclass(frozen=True)
class _Models:
    detector: Any
    landmarks: Any
    descriptor: Any


@cache
def _models() -> _Models:
    return _Models(
        detector=dlib.get_frontal_face_detector(),
        landmarks=dlib.shape_predictor(face_recognition_models.pose_predictor_model_location()),
        descriptor=dlib.face_recognition_model_v1(
            face_recognition_models.face_recognition_model_location()
        ),
    )


def warm_up() -> None:
    """Load the models now (a worker's initializer), not on the first request."""
    _models()


def find_faces(
    image: RGBImage, *, detect_side: int = 480, fallback_side: int = 960
) -> list[FaceFinding]:
    """Every face found, largest first.

    Detection runs at ``detect_side`` (faces from ~1/6 of the picture); if nothing is found
    there it retries once at ``fallback_side`` for small faces such as an ID-card portrait.
    """
    models = _models()
    rects: list[Any] = []
    scale = 1.0
    for side in (detect_side, fallback_side):
        small, scale = downscale(image, side)
        rects = list(models.detector(small, 0))
        if rects or scale >= 1.0:
            break
    height, width = image.shape[:2]
    found = []
    for r in rects:
        full = dlib.rectangle(
            max(0, round(r.left() / scale)),
            max(0, round(r.top() / scale)),
            min(width - 1, round(r.right() / scale)),
            min(height - 1, round(r.bottom() / scale)),
        )
        shape = models.landmarks(image, full)
        points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
        box = Box(full.left(), full.top(), full.right(), full.bottom())
        found.append(FaceFinding(box=box, landmarks=points, _shape=shape))
    found.sort(key=lambda f: f.box.width * f.box.height, reverse=True)
    return found


def describe(image: RGBImage, face: FaceFinding) -> Descriptor:
    """The 128-D descriptor of a face (the expensive step: ~100 ms on one core)."""
    vector = _models().descriptor.compute_face_descriptor(image, face._shape, 0)
    return np.array(vector, dtype=np.float64)


def distance(a: Descriptor, b: Descriptor) -> float:
    return float(np.linalg.norm(a - b))
