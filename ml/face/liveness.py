"""Liveness: a live person performed the requested actions, in order, on camera.

The checks, each reported as a stable reason code when it fails:

- enough frames with plausible timestamps (increasing, not too close, not too far apart,
  within the time the challenge has existed);
- exactly one face per frame, large and centred enough, bright and sharp enough;
- eyes open in at least some frames (not a person with eyes closed throughout);
- the same identity in every frame (descriptors on a sample, position continuity on all);
- natural variation between frames: identical or near-identical frames (a still photo, a
  looped photo) and landmark shapes that never change never pass;
- the challenge actions (blink, left, right, mouth, nod) detected in the requested order;
- a head turn that moves the landmarks like a flat picture (a photo tilted in front of
  the camera) is refused.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import cv2
import numpy as np

from ml.face.detect import Descriptor, FaceFinding, describe, distance, find_faces
from ml.face.image import RGBImage, pixel_digest
from ml.face.metrics import FrameMetrics, frame_metrics

Action = Literal["blink", "left", "right", "mouth", "nod"]
ACTIONS: tuple[Action, ...] = get_args(Action)


def parse_actions(text: str) -> tuple[Action, ...]:
    """``"blink,left"`` -> ("blink", "left"); unknown names raise ValueError."""
    out: list[Action] = []
    for name in (p.strip() for p in text.split(",") if p.strip()):
        if name not in ACTIONS:
            raise ValueError(f"unknown action {name!r}; expected one of {', '.join(ACTIONS)}")
        out.append(name)  # type: ignore[arg-type]
    return tuple(out)


@dataclass(frozen=True)
class LiveFrame:
    """One captured frame: pixels, the capture time in ms, a hash for the evidence."""

    pixels: RGBImage
    t_ms: float
    sha256: str = ""

    @classmethod
    def of(cls, pixels: RGBImage, t_ms: float) -> LiveFrame:
        return cls(pixels=pixels, t_ms=t_ms, sha256=pixel_digest(pixels))


@dataclass(frozen=True)
class LivenessPolicy:
    """Thresholds; the defaults suit ~640 px phone frames at arm's length."""

    min_frames: int = 4
    max_frames: int = 24
    min_gap_ms: float = 40.0
    max_gap_ms: float = 6000.0
    max_span_ms: float = 30000.0
    min_face_fraction: float = 0.2
    max_centre_offset: float = 0.25
    min_brightness: float = 45.0
    max_brightness: float = 225.0
    min_sharpness: float = 25.0
    min_open_ear: float = 0.2
    blink_ratio: float = 0.72  # EAR at or below this share of the open-eye EAR is a blink
    turn_degrees: float = 15.0
    nod_degrees: float = 10.0
    mouth_open_mar: float = 0.35
    mouth_rise: float = 0.2
    identity_tolerance: float = 0.55
    identity_samples: int = 4
    max_jump: float = 0.8  # face centre movement between frames, in face widths
    min_frame_change: float = 0.6  # mean grey-level difference that counts as different
    min_shape_change: float = 0.012  # landmark movement, in eye distances
    planar_residual: float = 0.025  # homography residual of a turn, in eye distances
    detect_side: int = 400
    fallback_side: int = 640


@dataclass
class FrameReport:
    index: int
    t_ms: float
    faces: int
    metrics: FrameMetrics | None = None
    actions: list[str] = field(default_factory=list)


@dataclass
class LivenessVerdict:
    """Passed only when ``reasons`` is empty; ``scores`` and hashes go to the evidence."""

    passed: bool
    reasons: list[str]
    challenge: tuple[str, ...]
    actions_seen: dict[str, int]  # action -> index of the frame it was first seen in order
    scores: dict[str, float]
    frame_hashes: list[str]
    best_frame: int | None
    frames: list[FrameReport]
    best_descriptor: list[float] | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "reasons": self.reasons,
            "challenge": list(self.challenge),
            "actions_seen": self.actions_seen,
            "scores": self.scores,
            "frame_hashes": self.frame_hashes,
            "best_frame": self.best_frame,
            "frames": [
                {
                    "index": f.index,
                    "t_ms": round(f.t_ms, 1),
                    "faces": f.faces,
                    "actions": f.actions,
                    **(
                        {
                            k: round(float(v), 3)
                            for k, v in vars(f.metrics).items()
                            if k in ("ear", "mar", "yaw", "pitch", "sharpness", "brightness")
                        }
                        if f.metrics
                        else {}
                    ),
                }
                for f in self.frames
            ],
        }


@dataclass
class _Seen:
    frame: LiveFrame
    face: FaceFinding
    metrics: FrameMetrics
    report: FrameReport


def check_liveness(
    frames: Sequence[LiveFrame],
    challenge: Sequence[Action],
    policy: LivenessPolicy | None = None,
    *,
    elapsed_ms: float | None = None,
    rng: random.Random | None = None,
) -> LivenessVerdict:
    """Judge a capture. ``elapsed_ms``: server-side time since the challenge was issued."""
    policy = policy or LivenessPolicy()
    rng = rng or random.SystemRandom()
    reasons: list[str] = []
    frames = list(frames)[: policy.max_frames]
    hashes = [f.sha256 or pixel_digest(f.pixels) for f in frames]
    reports = [FrameReport(index=i, t_ms=f.t_ms, faces=0) for i, f in enumerate(frames)]

    def verdict(best: _Seen | None = None, **extra: object) -> LivenessVerdict:
        return LivenessVerdict(
            passed=not reasons,
            reasons=list(dict.fromkeys(reasons)),
            challenge=tuple(challenge),
            actions_seen=dict(extra.get("seen", {})),  # type: ignore[call-overload]
            scores=dict(extra.get("scores", {})),  # type: ignore[call-overload]
            frame_hashes=hashes,
            best_frame=best.report.index if best else None,
            frames=reports,
            best_descriptor=extra.get("descriptor"),  # type: ignore[arg-type]
        )

    if len(frames) < policy.min_frames:
        reasons.append("too_few_frames")
        return verdict()
    reasons += _timing_problems([f.t_ms for f in frames], policy, elapsed_ms)
    if len(set(hashes)) < len(hashes) or _frames_identical(frames, policy):
        reasons.append("frames_identical")

    seen: list[_Seen] = []
    for frame, report in zip(frames, reports, strict=True):
        faces = find_faces(
            frame.pixels, detect_side=policy.detect_side, fallback_side=policy.fallback_side
        )
        report.faces = len(faces)
        if len(faces) == 1:
            m = frame_metrics(frame.pixels, faces[0].box, faces[0].landmarks)
            report.metrics = m
            seen.append(_Seen(frame, faces[0], m, report))
    if any(r.faces > 1 for r in reports):
        reasons.append("multiple_faces")
    if len(seen) < max(policy.min_frames - 1, (len(frames) * 2 + 2) // 3):
        reasons.append("no_face")
    if not seen:
        return verdict()

    ms = [s.metrics for s in seen]
    median = {k: float(np.median([getattr(m, k) for m in ms])) for k in vars(ms[0])}
    open_ear = float(np.percentile([m.ear for m in ms], 90))
    scores = {
        "face_fraction": median["face_fraction"],
        "centre_offset": median["centre_offset"],
        "brightness": median["brightness"],
        "sharpness": median["sharpness"],
        "open_ear": open_ear,
        "usable_frames": float(len(seen)),
    }
    if median["face_fraction"] < policy.min_face_fraction:
        reasons.append("face_too_small")
    if median["centre_offset"] > policy.max_centre_offset:
        reasons.append("face_off_centre")
    if median["brightness"] < policy.min_brightness:
        reasons.append("too_dark")
    elif median["brightness"] > policy.max_brightness:
        reasons.append("too_bright")
    if median["sharpness"] < policy.min_sharpness:
        reasons.append("blurry")
    if open_ear < policy.min_open_ear:
        reasons.append("eyes_closed")

    if _jumps(seen, policy):
        reasons.append("identity_changed")
    best = max(seen, key=lambda s: _frame_quality(s.metrics, median))
    sample = _identity_sample(seen, best, policy.identity_samples, rng)
    descriptors: dict[int, Descriptor] = {
        s.report.index: describe(s.frame.pixels, s.face) for s in sample
    }
    anchor = descriptors[best.report.index]
    spread = max((distance(anchor, d) for d in descriptors.values()), default=0.0)
    scores["identity_spread"] = spread
    if spread > policy.identity_tolerance:
        reasons.append("identity_changed")

    shape_change = _shape_change(seen)
    scores["shape_change"] = shape_change
    if shape_change < policy.min_shape_change:
        reasons.append("no_natural_motion")

    for s in seen:
        s.report.actions = _actions_in(s.metrics, median, open_ear, policy)
    order, missing, wrong_order = _match_order(seen, challenge)
    reasons += [f"challenge_missing:{a}" for a in missing]
    if wrong_order:
        reasons.append("challenge_wrong_order")

    turned = [s for s in seen if {"left", "right"} & set(s.report.actions)]
    if turned and any(a in ("left", "right") for a in challenge):
        neutral = min(seen, key=lambda s: abs(s.metrics.yaw - median["yaw"]))
        residual = max(_planar_residual(neutral, t) for t in turned)
        scores["turn_parallax"] = residual
        if residual < policy.planar_residual:
            reasons.append("flat_picture")

    return verdict(
        best,
        seen=order,
        scores={k: round(v, 4) for k, v in scores.items()},
        descriptor=[float(x) for x in descriptors[best.report.index]],
    )


def _timing_problems(
    times: list[float], policy: LivenessPolicy, elapsed: float | None
) -> list[str]:
    gaps = np.diff(np.asarray(times, dtype=np.float64))
    span = times[-1] - times[0]
    bad = (
        bool((gaps < policy.min_gap_ms).any())
        or bool((gaps > policy.max_gap_ms).any())
        or span > policy.max_span_ms
        # A capture cannot last longer than the challenge has existed (plus network slack).
        or (elapsed is not None and span > elapsed + 2000)
    )
    return ["timestamps_implausible"] if bad else []


def _thumb(image: RGBImage) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)


def _frames_identical(frames: list[LiveFrame], policy: LivenessPolicy) -> bool:
    """Most consecutive frames show the same pixels: a still or looped picture."""
    thumbs = [_thumb(f.pixels) for f in frames]
    diffs = [float(np.abs(a - b).mean()) for a, b in itertools.pairwise(thumbs)]
    still = sum(d < policy.min_frame_change for d in diffs)
    return still * 2 > len(diffs)


def _jumps(seen: list[_Seen], policy: LivenessPolicy) -> bool:
    """The face teleports or changes size abruptly between frames: frames from elsewhere."""
    for a, b in itertools.pairwise(seen):
        (ax, ay), (bx, by) = a.face.box.centre, b.face.box.centre
        width = max(a.face.box.width, b.face.box.width, 1)
        size = max(a.face.box.width, b.face.box.width) / max(
            min(a.face.box.width, b.face.box.width), 1
        )
        if np.hypot(ax - bx, ay - by) / width > policy.max_jump or size > 1.6:
            return True
    return False


def _normalised_shape(s: _Seen) -> np.ndarray:
    pts = s.face.landmarks
    return (pts - pts.mean(axis=0)) / max(s.metrics.eye_distance, 1.0)


def _shape_change(seen: list[_Seen]) -> float:
    """How much the landmark shape (position and scale removed) varies across frames."""
    if len(seen) < 2:
        return 0.0
    shapes = np.stack([_normalised_shape(s) for s in seen])
    mean = shapes.mean(axis=0)
    return float(np.linalg.norm(shapes - mean, axis=2).mean(axis=1).max())


def _frame_quality(m: FrameMetrics, median: dict[str, float]) -> float:
    """Best frame for matching and evidence: frontal, eyes open, sharp."""
    angle = abs(m.yaw) + abs(m.pitch - median["pitch"])
    return m.ear * 100 + min(m.sharpness, 400) / 20 - angle


def _identity_sample(seen: list[_Seen], best: _Seen, count: int, rng: random.Random) -> list[_Seen]:
    """Descriptors cost ~100 ms each: the best frame, then the first, last and random others
    among the near-frontal ones (descriptors of a strongly turned face drift apart even for
    one person; turned frames are tied to the others by position continuity)."""
    frontal = [s for s in seen if abs(s.metrics.yaw - best.metrics.yaw) <= 20] or [best]
    chosen = {id(best): best, id(frontal[0]): frontal[0], id(frontal[-1]): frontal[-1]}
    rest = [s for s in frontal if id(s) not in chosen]
    rng.shuffle(rest)
    for s in rest[: max(0, count - len(chosen))]:
        chosen[id(s)] = s
    return list(chosen.values())


def _actions_in(
    m: FrameMetrics, median: dict[str, float], open_ear: float, policy: LivenessPolicy
) -> list[str]:
    found = []
    dyaw = m.yaw - median["yaw"]
    dpitch = m.pitch - median["pitch"]
    if dyaw >= policy.turn_degrees:
        found.append("left")
    elif dyaw <= -policy.turn_degrees:
        found.append("right")
    if abs(dpitch) >= policy.nod_degrees and abs(dyaw) < policy.turn_degrees:
        found.append("nod")
    if m.mar >= max(policy.mouth_open_mar, median["mar"] + policy.mouth_rise):
        found.append("mouth")
    # Eyes narrow when the head turns; a blink only counts on a near-frontal face.
    if (
        open_ear >= policy.min_open_ear
        and m.ear <= policy.blink_ratio * open_ear
        and abs(dyaw) < policy.turn_degrees
        and m.mar < policy.mouth_open_mar
    ):
        found.append("blink")
    return found


def _match_order(
    seen: list[_Seen], challenge: Sequence[Action]
) -> tuple[dict[str, int], list[str], bool]:
    """Greedy: each action must first appear after the previous one."""
    order: dict[str, int] = {}
    position = 0
    in_order = True
    for action in challenge:
        hit = next(
            (i for i in range(position, len(seen)) if action in seen[i].report.actions), None
        )
        if hit is None:
            in_order = False
            break
        order[action] = seen[hit].report.index
        position = hit + 1
    anywhere = {a for s in seen for a in s.report.actions}
    missing: list[str] = [a for a in challenge if a not in anywhere]
    return order, missing, (not in_order and not missing)


def _planar_residual(neutral: _Seen, turned: _Seen) -> float:
    """How badly one homography explains the landmark move from frontal to turned.

    A flat picture moves exactly like a homography; a real head does not (the nose moves
    against the cheeks). Returned in eye distances.
    """
    src = neutral.face.landmarks.astype(np.float32)
    dst = turned.face.landmarks.astype(np.float32)
    h, _ = cv2.findHomography(src, dst, 0)
    if h is None:
        return 1.0
    projected = cv2.perspectiveTransform(src.reshape(-1, 1, 2), h).reshape(-1, 2)
    error = np.linalg.norm(projected - dst, axis=1)
    return float(np.sqrt((error**2).mean()) / max(turned.metrics.eye_distance, 1.0))
