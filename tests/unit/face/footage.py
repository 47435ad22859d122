"""A real live capture made from hamilton_clip.mp4, as a phone's front camera would give it.

The performer turns his head to his right (frames 99-140), faces the camera, then turns to
his left (frames 150-177): the challenge ``right,left``. The stage camera is far away, so
the frames are cropped to the performer (320x240 at x=85, y=0; the face then fills about a
quarter of the width, as at arm's length) and scaled to 640x480; played at half speed, as
a person following prompts turns more slowly. The reference photo is frame 183, a frontal
view from after the captured part (no separate photo of this performer is in testdata).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

FIRST, LAST = 99, 177  # the captured part of the clip (frame numbers, 29.97 fps)
REFERENCE = 183
CROP = (85, 0, 320, 240)  # x, y, width, height
CHALLENGE = "right,left"
SLOWDOWN = 2.0
FPS = 29.97


def _frames(clip: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    capture = cv2.VideoCapture(str(clip))
    out: dict[int, np.ndarray] = {}
    index = 0
    while index <= max(wanted):
        ok, bgr = capture.read()
        if not ok:
            break
        if index in wanted:
            out[index] = bgr
        index += 1
    capture.release()
    return out


def _jpeg(bgr: np.ndarray, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return bytes(buf.tobytes())


def live_capture(
    faces: Path, *, count: int = 16, start_s: float = 0.7, gap_s: float = 0.22
) -> tuple[list[bytes], list[float]]:
    """``count`` JPEG frames (quality 75, as the page sends them) and their times in ms,
    grabbed every ``gap_s`` from ``start_s`` on, like face-capture.js does."""
    times = [start_s + i * gap_s for i in range(count)]
    length = LAST - FIRST + 1
    indices = [FIRST + int(t * FPS / SLOWDOWN) % length for t in times]
    frames = _frames(faces / "hamilton_clip.mp4", set(indices))
    x, y, w, h = CROP
    shots = [
        _jpeg(
            cv2.resize(frames[i][y : y + h, x : x + w], (640, 480), interpolation=cv2.INTER_CUBIC),
            75,
        )
        for i in indices
    ]
    return shots, [round((t - start_s) * 1000) for t in times]


def reference_photo(faces: Path) -> bytes:
    """The performer's frontal face from outside the captured part, as an ID-card portrait."""
    bgr = _frames(faces / "hamilton_clip.mp4", {REFERENCE})[REFERENCE]
    return _jpeg(cv2.resize(bgr[0:240, 90:330], (480, 480), interpolation=cv2.INTER_CUBIC), 90)


def camera_y4m_args(clip: Path) -> list[str]:
    """ffmpeg arguments that turn the same part of the clip into a fake-camera y4m file."""
    x, y, w, h = CROP
    return [
        "-i",
        str(clip),
        "-vf",
        f"select=between(n\\,{FIRST}\\,{LAST}),setpts=N/({FPS}/{SLOWDOWN})/TB,fps={FPS},"
        f"crop={w}:{h}:{x}:{y},scale=640:480,format=yuv420p",
    ]


def selfie_mp4(faces: Path, out: Path) -> bytes:
    """The same capture as a short H.264 selfie clip (the fallback's file input), via ffmpeg."""
    import shutil
    import subprocess

    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is required (scripts/system-packages.sh installs it)"
    args = camera_y4m_args(faces / "hamilton_clip.mp4")
    args[-1] = args[-1].removesuffix(",format=yuv420p")
    command = [ffmpeg, "-loglevel", "error", "-y", *args, "-c:v", "libx264"]
    subprocess.run([*command, "-pix_fmt", "yuv420p", "-crf", "23", str(out)], check=True)
    return out.read_bytes()
