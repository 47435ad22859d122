"""Per-frame measurements from 68-point landmarks: eyes, mouth, head pose, image quality."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ml.face.detect import Box, Points
from ml.face.image import RGBImage

# A generic head in millimetre-like units, camera axes (x right, y down, z away from the
# camera), for the landmarks: nose tip 30, chin 8, outer eye corners 36/45, mouth 48/54.
_HEAD_MODEL = np.array(
    [
        (0.0, 0.0, 0.0),
        (0.0, 330.0, 65.0),
        (-225.0, -170.0, 135.0),
        (225.0, -170.0, 135.0),
        (-150.0, 150.0, 125.0),
        (150.0, 150.0, 125.0),
    ],
    dtype=np.float64,
)
_HEAD_POINTS = [30, 8, 36, 45, 48, 54]


@dataclass(frozen=True)
class FrameMetrics:
    """What one frame shows about the face in it."""

    ear: float  # eye aspect ratio, mean of both eyes: ~0.3 open, < 0.2 closed
    mar: float  # inner-mouth aspect ratio: ~0 closed, > 0.4 open
    yaw: float  # degrees, positive = the person turned to their own left
    pitch: float  # degrees, positive = head tilted down
    roll: float  # degrees
    sharpness: float  # variance of the Laplacian over the face, normalised to 200 px
    brightness: float  # mean grey level of the face, 0-255
    face_fraction: float  # face box width / frame width
    centre_offset: float  # distance of the face centre from the frame centre / frame width
    eye_distance: float  # pixels between the eye centres


def _dist(p: Points, a: int, b: int) -> float:
    return float(np.linalg.norm(p[a] - p[b]))


def eye_aspect_ratio(points: Points) -> float:
    """Soukupová & Čech (2016): eye height over width, averaged over both eyes."""

    def one(i: int) -> float:
        width = _dist(points, i, i + 3)
        height = _dist(points, i + 1, i + 5) + _dist(points, i + 2, i + 4)
        return height / (2.0 * width) if width else 0.0

    return (one(36) + one(42)) / 2.0


def mouth_aspect_ratio(points: Points) -> float:
    """Inner lip opening (61-67, 62-66, 63-65) over the inner mouth width (60-64)."""
    width = _dist(points, 60, 64)
    height = _dist(points, 61, 67) + _dist(points, 62, 66) + _dist(points, 63, 65)
    return height / (3.0 * width) if width else 0.0


def head_pose(points: Points, frame_width: int, frame_height: int) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from six landmarks with cv2.solvePnP."""
    image_points = points[_HEAD_POINTS].astype(np.float64)
    focal = float(frame_width)
    camera = np.array(
        [[focal, 0, frame_width / 2], [0, focal, frame_height / 2], [0, 0, 1]], dtype=np.float64
    )
    ok, rvec, _ = cv2.solvePnP(
        _HEAD_MODEL, image_points, camera, np.zeros(4), flags=cv2.SOLVEPNP_ITERATIVE
    )
    if not ok:
        return 0.0, 0.0, 0.0
    rotation, _ = cv2.Rodrigues(rvec)
    angles = cv2.RQDecomp3x3(rotation)[0]
    pitch, yaw, roll = (float(a) for a in angles)
    # Rotation about x (chin down: positive), y and z (tilt). With our axes a turn to the
    # person's own left moves the nose towards image right, which is negative about y.
    return -yaw, pitch, roll


def _face_crop(image: RGBImage, box: Box) -> np.ndarray:
    h, w = image.shape[:2]
    crop = image[max(0, box.top) : min(h, box.bottom), max(0, box.left) : min(w, box.right)]
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.size else np.zeros((1, 1), np.uint8)
    return grey


def frame_metrics(image: RGBImage, box: Box, points: Points) -> FrameMetrics:
    h, w = image.shape[:2]
    grey = _face_crop(image, box)
    # Sharpness depends on scale: measure it on the face resized to a fixed width.
    side = 200
    if grey.shape[1] > 1:
        grey = cv2.resize(grey, (side, max(1, round(grey.shape[0] * side / grey.shape[1]))))
    yaw, pitch, roll = head_pose(points, w, h)
    cx, cy = box.centre
    left_eye = points[36:42].mean(axis=0)
    right_eye = points[42:48].mean(axis=0)
    return FrameMetrics(
        ear=eye_aspect_ratio(points),
        mar=mouth_aspect_ratio(points),
        yaw=yaw,
        pitch=pitch,
        roll=roll,
        sharpness=float(cv2.Laplacian(grey, cv2.CV_64F).var()),
        brightness=float(grey.mean()),
        face_fraction=box.width / w,
        centre_offset=float(np.hypot(cx - w / 2, cy - h / 2) / w),
        eye_distance=float(np.linalg.norm(left_eye - right_eye)),
    )
