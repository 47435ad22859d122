"""Frames from a short selfie video (the fallback where the camera API is missing)."""

from __future__ import annotations

import os
import tempfile

import cv2
import numpy as np

from ml.face.errors import FaceInputError
from ml.face.image import RGBImage, downscale

#: A selfie clip for a challenge lasts a few seconds; longer ones are cut.
MAX_SECONDS = 20.0


def frames_from_video(
    data: bytes, *, count: int = 12, max_side: int = 640
) -> list[tuple[RGBImage, float]]:
    """Up to ``count`` frames spread evenly over the clip, with their times in ms."""
    if not data:
        raise FaceInputError("not_a_video", "empty upload")
    # OpenCV's FFmpeg backend reads from a path, so the clip touches a private temp file
    # for the duration of this call only.
    fd, path = tempfile.mkstemp(suffix=".video")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return _read(path, count, max_side)
    finally:
        os.unlink(path)


def _read(path: str, count: int, max_side: int) -> list[tuple[RGBImage, float]]:
    capture = cv2.VideoCapture(path)
    try:
        if not capture.isOpened():
            raise FaceInputError("not_a_video", "OpenCV cannot open the clip")
        fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if fps <= 0 or fps > 240:
            fps = 30.0
        usable = min(total, int(MAX_SECONDS * fps)) if total > 0 else int(MAX_SECONDS * fps)
        wanted = set(np.linspace(0, max(usable - 1, 0), num=count).round().astype(int).tolist())
        frames: list[tuple[RGBImage, float]] = []
        index = 0
        while index < usable and len(frames) < count:
            ok = capture.grab()
            if not ok:
                break
            if index in wanted:
                ok, bgr = capture.retrieve()
                if ok and bgr is not None:
                    millis = capture.get(cv2.CAP_PROP_POS_MSEC) or index * 1000.0 / fps
                    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                    small, _ = downscale(np.ascontiguousarray(rgb), max_side)
                    frames.append((small, float(millis)))
            index += 1
    finally:
        capture.release()
    if not frames:
        raise FaceInputError("not_a_video", "no frames could be decoded")
    return frames
