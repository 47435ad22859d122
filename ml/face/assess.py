"""One call for a worker process: uploaded frames (or a clip) + reference -> a decision."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ml.face.errors import FaceInputError
from ml.face.image import decode_image, encode_jpeg, pixel_digest
from ml.face.liveness import Action, LiveFrame, LivenessPolicy, LivenessVerdict, check_liveness
from ml.face.match import DEFAULT_THRESHOLD, MatchResult, compare, sample_face
from ml.face.video import frames_from_video


@dataclass
class FaceAssessment:
    """Liveness, then the match of the best live frame against the reference."""

    passed: bool
    reasons: list[str]
    liveness: LivenessVerdict | None
    match: MatchResult | None
    frame_hashes: list[str]
    best_frame_sha256: str = ""
    #: The best frame as JPEG (the hash above is of these bytes): for a cloud provider and
    #: the encrypted evidence copy; the caller drops it once it has done either.
    best_frame_jpeg: bytes = b""
    reference_sha256: str = ""
    server_ms: float = 0.0
    input_error: str = ""
    scores: dict[str, float] = field(default_factory=dict)


def assess_live_person(
    *,
    challenge: Sequence[Action],
    frames: Sequence[bytes] = (),
    timestamps_ms: Sequence[float] = (),
    video: bytes | None = None,
    reference: bytes | None,
    elapsed_ms: float | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    policy: LivenessPolicy | None = None,
    compare_reference: bool = True,
) -> FaceAssessment:
    """Everything is decoded, judged and dropped here; hashes, scores and the best frame
    leave. ``compare_reference=False``: liveness only (a cloud provider does the match)."""
    started = time.perf_counter()
    policy = policy or LivenessPolicy()
    try:
        live = _live_frames(frames, timestamps_ms, video, policy)
    except FaceInputError as exc:
        return FaceAssessment(False, [exc.code], None, None, [], input_error=exc.code)
    verdict = check_liveness(live, challenge, policy, elapsed_ms=elapsed_ms)
    reasons = list(verdict.reasons)
    result: MatchResult | None = None
    ref_hash = hashlib.sha256(reference).hexdigest() if reference else ""
    if not compare_reference:
        pass
    elif reference is None:
        reasons.append("reference_missing")
    else:
        try:
            ref_pixels = decode_image(reference)
        except FaceInputError as exc:
            reasons.append(f"reference_{exc.code}")
        else:
            # Compared only after a live capture: no match oracle for replayed pictures.
            if verdict.passed and verdict.best_descriptor is not None:
                ref = sample_face(ref_pixels, role="reference")
                if ref.descriptor is None:
                    reasons.append(ref.problem)
                else:
                    result = compare(verdict.best_descriptor, ref.descriptor, threshold)
                    reasons += result.reasons
    best_sha, best_jpeg = "", b""
    if verdict.best_frame is not None:
        # The best frame re-encoded as JPEG: what the evidence keeps (sealed) and hashes.
        best_jpeg = encode_jpeg(live[verdict.best_frame].pixels)
        best_sha = hashlib.sha256(best_jpeg).hexdigest()
    scores = dict(verdict.scores)
    if result is not None and result.distance is not None:
        scores["match_distance"] = round(result.distance, 4)
    return FaceAssessment(
        passed=not reasons,
        reasons=list(dict.fromkeys(reasons)),
        liveness=verdict,
        match=result,
        frame_hashes=verdict.frame_hashes,
        best_frame_sha256=best_sha,
        best_frame_jpeg=best_jpeg,
        reference_sha256=ref_hash,
        server_ms=round((time.perf_counter() - started) * 1000, 1),
        scores=scores,
    )


def _live_frames(
    frames: Sequence[bytes],
    timestamps_ms: Sequence[float],
    video: bytes | None,
    policy: LivenessPolicy,
) -> list[LiveFrame]:
    if video is not None:
        clip = frames_from_video(video, count=min(12, policy.max_frames))
        return [LiveFrame.of(pixels, t) for pixels, t in clip]
    if len(frames) > policy.max_frames:
        raise FaceInputError("too_many_frames", f"{len(frames)} > {policy.max_frames}")
    if len(timestamps_ms) != len(frames):
        raise FaceInputError("timestamps_implausible", "one timestamp per frame is required")
    out = []
    for data, t in zip(frames, timestamps_ms, strict=True):
        pixels = decode_image(data)
        out.append(LiveFrame(pixels=pixels, t_ms=float(t), sha256=pixel_digest(pixels)))
    return out
