"""Challenge tokens, head pose, eye/mouth ratios and clip extraction."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from ml.face import (
    ChallengeError,
    FaceInputError,
    frames_from_video,
    issue_challenge,
    open_challenge,
)
from ml.face.metrics import (
    _HEAD_MODEL,
    _HEAD_POINTS,
    eye_aspect_ratio,
    head_pose,
    mouth_aspect_ratio,
)

KEY = b"k" * 32


def test_challenge_round_trip_and_tampering() -> None:
    c = issue_challenge(KEY, "signer-1", count=3, now=1000.0)
    assert len(set(c.actions)) == 3
    assert open_challenge(KEY, c.token, "signer-1", ttl=120, now=1060).actions == c.actions
    for token, subject, now, code in [
        (c.token, "signer-2", 1060, "nonce_invalid"),
        (c.token[:-2] + "AA", "signer-1", 1060, "nonce_invalid"),
        ("garbage", "signer-1", 1060, "nonce_invalid"),
        (c.token, "signer-1", 1200, "nonce_expired"),
    ]:
        with pytest.raises(ChallengeError) as err:
            open_challenge(KEY, token, subject, ttl=120, now=now)
        assert err.value.code == code
    with pytest.raises(ChallengeError):
        open_challenge(b"x" * 32, c.token, "signer-1", ttl=120, now=1060)


def test_a_fixed_challenge_keeps_its_order_and_gets_fresh_nonces() -> None:
    from backend.identity.face_step import _fixed_actions

    fixed = _fixed_actions("right,left")
    assert fixed == ("right", "left")
    a, b = (issue_challenge(KEY, "signer-1", actions=fixed) for _ in range(2))
    assert a.actions == b.actions == ("right", "left") and a.nonce != b.nonce
    assert _fixed_actions("") == () and _fixed_actions("wave,left") == ()  # random then


@pytest.mark.parametrize(("yaw", "pitch"), [(0, 0), (20, 0), (-25, 0), (0, 15), (0, -12)])
def test_head_pose_recovers_a_known_rotation(yaw: float, pitch: float) -> None:
    w, h = 640, 480
    camera = np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1.0]])
    # Turning to the person's own left is a negative rotation about the camera's y axis.
    rvec = np.array([np.radians(pitch), np.radians(-yaw), 0.0])
    pts, _ = cv2.projectPoints(_HEAD_MODEL, rvec, np.array([0, 0, 2000.0]), camera, np.zeros(4))
    landmarks = np.zeros((68, 2))
    landmarks[_HEAD_POINTS] = pts.reshape(-1, 2)
    got_yaw, got_pitch, _ = head_pose(landmarks, w, h)
    assert got_yaw == pytest.approx(yaw, abs=1.0)
    assert got_pitch == pytest.approx(pitch, abs=1.0)


def _eye_and_mouth(open_eye: float, open_mouth: float) -> np.ndarray:
    p = np.zeros((68, 2))
    for start, x0 in ((36, 0.0), (42, 60.0)):
        p[start] = (x0, 0)
        p[start + 3] = (x0 + 30, 0)
        p[start + 1], p[start + 5] = (x0 + 10, -open_eye / 2), (x0 + 10, open_eye / 2)
        p[start + 2], p[start + 4] = (x0 + 20, -open_eye / 2), (x0 + 20, open_eye / 2)
    p[60], p[64] = (0, 100), (40, 100)
    for top, bottom, x in ((61, 67, 10), (62, 66, 20), (63, 65, 30)):
        p[top], p[bottom] = (x, 100 - open_mouth / 2), (x, 100 + open_mouth / 2)
    return p


def test_eye_and_mouth_ratios() -> None:
    assert eye_aspect_ratio(_eye_and_mouth(9, 0)) == pytest.approx(0.3)
    assert eye_aspect_ratio(_eye_and_mouth(1.5, 0)) == pytest.approx(0.05)
    assert mouth_aspect_ratio(_eye_and_mouth(9, 20)) == pytest.approx(0.5)


def test_frames_from_the_real_clip(faces: Path) -> None:
    frames = frames_from_video((faces / "hamilton_clip.mp4").read_bytes(), count=10)
    assert len(frames) == 10
    times = [t for _, t in frames]
    assert times == sorted(times) and times[-1] > 5000
    assert max(frames[0][0].shape[:2]) <= 640


def test_a_non_video_upload_is_refused() -> None:
    with pytest.raises(FaceInputError) as err:
        frames_from_video(b"this is not a video at all" * 100)
    assert err.value.code == "not_a_video"
