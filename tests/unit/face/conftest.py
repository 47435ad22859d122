"""Shared face photos and frames: ../shared/testdata/faces next to the repository."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

FACES = Path(__file__).resolve().parents[3].parent / "shared" / "testdata" / "faces"


@pytest.fixture(scope="session")
def faces() -> Path:
    if not (FACES / "obama_1.jpg").exists():
        pytest.skip(f"face test photos not found at {FACES} (../shared/testdata/faces)")
    return FACES


def load(path: Path, width: int = 640) -> np.ndarray:
    bgr = cv2.imread(str(path))
    scale = width / bgr.shape[1]
    bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    assert ok
    return bytes(buf.tobytes())


def held_photo(image: np.ndarray, rng: np.random.Generator, yaw: float = 0.0) -> np.ndarray:
    """The picture as a printed photo held up to a camera: a slight wobble, and optionally
    turned about the vertical axis (a flat card tilted, foreshortened on one side)."""
    h, w = image.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    shrink = yaw / 90 * 0.5 * h
    dx = w * abs(yaw) / 90 * 0.25
    if yaw >= 0:  # the right edge moves away from the camera
        dst = [[dx, 0], [w - dx, shrink / 2], [w - dx, h - shrink / 2], [dx, h]]
    else:
        dst = [[dx, -yaw / 90 * 0.25 * h], [w - dx, 0], [w - dx, h], [dx, h + yaw / 90 * 0.25 * h]]
    dst_arr = np.float32(dst) + rng.normal(0, 2.0, (4, 2)).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, dst_arr)
    warped = cv2.warpPerspective(image, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    noise = rng.normal(0, 3.0, warped.shape)
    return np.clip(warped.astype(np.float64) + noise, 0, 255).astype(np.uint8)


def clip_frames(faces: Path, count: int = 12) -> list[tuple[np.ndarray, float]]:
    """Frames of the real stage video, extracted with OpenCV."""
    capture = cv2.VideoCapture(str(faces / "hamilton_clip.mp4"))
    frames = []
    index = 0
    while len(frames) < count:
        ok, bgr = capture.read()
        if not ok:
            break
        if index % 5 == 0:
            t = capture.get(cv2.CAP_PROP_POS_MSEC)
            frames.append((np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), t))
        index += 1
    capture.release()
    return frames
