"""Liveness on real photos and on frames of the real clip: replays and bad captures fail."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ml.face import LiveFrame, LivenessPolicy, check_liveness
from ml.face.liveness import _match_order
from tests.unit.face.conftest import clip_frames, held_photo, load


def frames_of(images: list[np.ndarray], gap: float = 200.0) -> list[LiveFrame]:
    return [LiveFrame.of(img, i * gap) for i, img in enumerate(images)]


def test_a_still_photo_replayed_as_frames_never_passes(faces: Path) -> None:
    photo = load(faces / "obama_2.jpg", 480)
    verdict = check_liveness(frames_of([photo] * 10), ("blink", "left"))
    assert not verdict.passed
    assert "frames_identical" in verdict.reasons
    assert "no_natural_motion" in verdict.reasons
    assert len(verdict.frame_hashes) == 10


def test_a_photo_held_up_and_tilted_does_not_turn_like_a_head(faces: Path) -> None:
    rng = np.random.default_rng(7)
    photo = load(faces / "obama_1.jpg", 480)
    tilts = [0, 0, 0, 25, 30, 35, 30, 0, 0, 0]
    verdict = check_liveness(frames_of([held_photo(photo, rng, t) for t in tilts]), ("left",))
    assert not verdict.passed
    assert "frames_identical" not in verdict.reasons  # the frames do differ...
    assert "challenge_missing:left" in verdict.reasons or "flat_picture" in verdict.reasons


def test_too_dark_frames_are_explained(faces: Path) -> None:
    rng = np.random.default_rng(3)
    photo = load(faces / "obama_1.jpg", 480)
    dark = [(held_photo(photo, rng) * 0.12).astype(np.uint8) for _ in range(8)]
    verdict = check_liveness(frames_of(dark), ("blink",))
    assert not verdict.passed
    assert "too_dark" in verdict.reasons or "no_face" in verdict.reasons


def test_two_people_in_the_frames(faces: Path) -> None:
    rng = np.random.default_rng(5)
    photo = load(faces / "two_people.jpg", 640)
    verdict = check_liveness(frames_of([held_photo(photo, rng) for _ in range(6)]), ("nod",))
    assert "multiple_faces" in verdict.reasons


def test_no_face_at_all() -> None:
    rng = np.random.default_rng(9)
    noise = [rng.integers(0, 255, (480, 640, 3), dtype=np.uint8) for _ in range(6)]
    verdict = check_liveness(frames_of(noise), ("blink",))
    assert verdict.reasons[:1] == ["no_face"] or "no_face" in verdict.reasons


def test_implausible_timestamps(faces: Path) -> None:
    rng = np.random.default_rng(11)
    photo = load(faces / "biden_2.jpg", 480)
    images = [held_photo(photo, rng) for _ in range(6)]
    backwards = [LiveFrame.of(img, 1000 - i * 150) for i, img in enumerate(images)]
    assert "timestamps_implausible" in check_liveness(backwards, ("blink",)).reasons
    # Five seconds of capture claimed for a challenge issued one second ago.
    slow = [LiveFrame.of(img, i * 1000.0) for i, img in enumerate(images)]
    verdict = check_liveness(slow, ("blink",), elapsed_ms=1000)
    assert "timestamps_implausible" in verdict.reasons


def test_too_few_frames(faces: Path) -> None:
    photo = load(faces / "biden_1.jpg", 480)
    assert check_liveness(frames_of([photo]), ("blink",)).reasons == ["too_few_frames"]


def test_frames_of_the_real_clip_are_a_moving_face_but_not_the_challenge(faces: Path) -> None:
    frames = [LiveFrame.of(img, t) for img, t in clip_frames(faces, 30)[17:29]]
    # The stage clip films the performer from afar: relax only the size rule to look at
    # the rest of the checks on real motion.
    policy = LivenessPolicy(min_face_fraction=0.1, detect_side=640, fallback_side=1280)
    verdict = check_liveness(frames, ("blink", "nod"), policy)
    assert verdict.scores["usable_frames"] >= 10
    assert "frames_identical" not in verdict.reasons
    assert "no_natural_motion" not in verdict.reasons
    assert "identity_changed" not in verdict.reasons
    assert "timestamps_implausible" not in verdict.reasons
    # He turns his head on stage, but nobody asked him to blink and nod in that order.
    assert not verdict.passed
    assert any(r.startswith("challenge_") for r in verdict.reasons)
    # A real head turning shows parallax that a flat picture cannot.
    turned = check_liveness(frames, ("left",), policy)
    if "turn_parallax" in turned.scores:
        assert "flat_picture" not in turned.reasons


def test_the_clip_at_its_real_size_is_too_small_a_face(faces: Path) -> None:
    frames = [LiveFrame.of(img, t) for img, t in clip_frames(faces, 30)[17:29]]
    verdict = check_liveness(frames, ("blink",))
    assert "face_too_small" in verdict.reasons or "no_face" in verdict.reasons


def _seen(actions: list[list[str]]) -> list[SimpleNamespace]:
    return [
        SimpleNamespace(report=SimpleNamespace(index=i, actions=a)) for i, a in enumerate(actions)
    ]


def test_actions_must_come_in_the_requested_order() -> None:
    frames = _seen([[], ["left"], [], ["blink"], []])
    order, missing, wrong = _match_order(frames, ("left", "blink"))  # type: ignore[arg-type]
    assert order == {"left": 1, "blink": 3} and not missing and not wrong
    order, missing, wrong = _match_order(frames, ("blink", "left"))  # type: ignore[arg-type]
    assert wrong and not missing
    _, missing, wrong = _match_order(frames, ("nod",))  # type: ignore[arg-type]
    assert missing == ["nod"] and not wrong


def test_the_clip_passes_the_challenge_it_performs_and_no_other(faces: Path) -> None:
    """A real capture (tests/unit/face/footage.py): the performer turns right, then left."""
    from ml.face import assess_live_person, parse_actions
    from tests.unit.face.footage import CHALLENGE, live_capture, reference_photo

    frames, times = live_capture(faces)
    reference = reference_photo(faces)
    passed = assess_live_person(
        challenge=parse_actions(CHALLENGE), frames=frames, timestamps_ms=times, reference=reference
    )
    assert passed.passed, passed.reasons
    assert passed.match is not None and passed.match.distance is not None
    assert passed.match.distance <= 0.55
    assert passed.best_frame_jpeg[:2] == b"\xff\xd8" and len(passed.frame_hashes) == 16
    reversed_order = assess_live_person(
        challenge=parse_actions("left,right"),
        frames=frames,
        timestamps_ms=times,
        reference=reference,
    )
    assert reversed_order.reasons == ["challenge_wrong_order"]
    nodding = assess_live_person(
        challenge=parse_actions("nod"), frames=frames, timestamps_ms=times, reference=reference
    )
    assert "challenge_missing:nod" in nodding.reasons
    stranger = assess_live_person(
        challenge=parse_actions(CHALLENGE),
        frames=frames,
        timestamps_ms=times,
        reference=(faces / "obama_2.jpg").read_bytes(),
    )
    assert stranger.reasons == ["different_person"]
