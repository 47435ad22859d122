"""`python -m bench.face`: face match and a 10-frame liveness check on one core.

Targets (issue 7): match <= 300 ms, 10-frame liveness <= 1.5 s of server time. The
baseline is the cheapest thing any pipeline does to the same frames (an OpenCV resize and
grey conversion), measured in the same run, so the ratios stay comparable across machines.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np

from bench.timing import measure
from ml import face

FACES = Path(__file__).resolve().parents[1].parent / "shared" / "testdata" / "faces"
MATCH_BUDGET_MS = 300.0
LIVENESS_BUDGET_MS = 1500.0


def live_frames() -> list[bytes]:
    """Ten ~640 px JPEG frames of one face, as the page sends them (moved and re-encoded)."""
    rgb = face.decode_image((FACES / "obama_1.jpg").read_bytes())
    small, _ = face.downscale(rgb, 640)
    rng = np.random.default_rng(0)
    out = []
    for _ in range(10):
        m = np.float32([[1, 0, rng.normal(0, 4)], [0, 1, rng.normal(0, 4)]])
        moved = cv2.warpAffine(small, m, (small.shape[1], small.shape[0]))
        out.append(face.image.encode_jpeg(moved, 75))
    return out


def main() -> None:
    if not (FACES / "obama_1.jpg").exists():
        sys.exit(f"face test photos not found at {FACES}")
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    face.warm_up()
    a = (FACES / "obama_1.jpg").read_bytes()
    b = (FACES / "obama_2.jpg").read_bytes()
    frames = live_frames()
    times = [i * 200.0 for i in range(len(frames))]

    def baseline() -> None:
        for data in frames:
            img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            cv2.cvtColor(cv2.resize(img, (320, 240)), cv2.COLOR_BGR2GRAY)

    def liveness() -> None:
        face.assess_live_person(
            challenge=("blink", "left"), frames=frames, timestamps_ms=times, reference=None
        )

    # A passing attempt does every step: liveness on a real capture (the stage clip cropped
    # as a phone would film it, tests/unit/face/footage.py), the match, the best frame's JPEG.
    from tests.unit.face import footage

    clip, clip_times = footage.live_capture(FACES, count=10, gap_s=0.35)
    reference = footage.reference_photo(FACES)
    challenge = face.parse_actions(footage.CHALLENGE)

    def passing_attempt() -> None:
        verdict = face.assess_live_person(
            challenge=challenge, frames=clip, timestamps_ms=clip_times, reference=reference
        )
        assert verdict.passed, verdict.reasons

    base = measure(baseline, 15)
    match_ms = measure(lambda: face.match_images(a, b), 7)
    live_ms = measure(liveness, 5)
    passing_ms = measure(passing_attempt, 5)
    print(f"baseline (decode+resize+grey, 10 frames): {base:8.1f} ms")
    print(
        f"face match (2 photos, end to end):        {match_ms:8.1f} ms  "
        f"x{match_ms / base:6.1f}  budget {MATCH_BUDGET_MS:.0f} ms "
        f"{'OK' if match_ms <= MATCH_BUDGET_MS else 'OVER'}"
    )
    print(
        f"liveness (10 frames, incl. decoding):     {live_ms:8.1f} ms  "
        f"x{live_ms / base:6.1f}  budget {LIVENESS_BUDGET_MS:.0f} ms "
        f"{'OK' if live_ms <= LIVENESS_BUDGET_MS else 'OVER'}"
    )
    print(
        f"passing attempt (10 clip frames + match): {passing_ms:8.1f} ms  "
        f"x{passing_ms / base:6.1f}  budget {LIVENESS_BUDGET_MS + MATCH_BUDGET_MS:.0f} ms "
        f"{'OK' if passing_ms <= LIVENESS_BUDGET_MS + MATCH_BUDGET_MS else 'OVER'}"
    )


if __name__ == "__main__":
    main()
