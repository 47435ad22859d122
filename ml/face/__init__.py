"""Live face for signing: detection, per-frame metrics, liveness, match, challenges.

No web or ORM imports: everything here runs in a worker process (see ``assess``) or a
separate service. Models come from the ``face_recognition_models`` package and are never
downloaded at run time.
"""

from ml.face.assess import FaceAssessment, assess_live_person
from ml.face.challenge import Challenge, ChallengeError, issue_challenge, open_challenge
from ml.face.detect import Box, FaceFinding, describe, find_faces, warm_up
from ml.face.errors import FaceInputError
from ml.face.image import decode_image, downscale
from ml.face.liveness import (
    ACTIONS,
    Action,
    LiveFrame,
    LivenessPolicy,
    LivenessVerdict,
    check_liveness,
    parse_actions,
)
from ml.face.match import DEFAULT_THRESHOLD, MatchResult, compare, match_images, sample_face
from ml.face.metrics import FrameMetrics, frame_metrics
from ml.face.provider import (
    AliyunFaceVerifier,
    FaceCheck,
    FaceProviderError,
    FaceVerifier,
    LocalFaceVerifier,
    ProviderNotConfigured,
    RpcCall,
)
from ml.face.video import frames_from_video

__all__ = [
    "ACTIONS",
    "DEFAULT_THRESHOLD",
    "Action",
    "AliyunFaceVerifier",
    "Box",
    "Challenge",
    "ChallengeError",
    "FaceAssessment",
    "FaceCheck",
    "FaceFinding",
    "FaceInputError",
    "FaceProviderError",
    "FaceVerifier",
    "FrameMetrics",
    "LiveFrame",
    "LivenessPolicy",
    "LivenessVerdict",
    "LocalFaceVerifier",
    "MatchResult",
    "ProviderNotConfigured",
    "RpcCall",
    "assess_live_person",
    "check_liveness",
    "compare",
    "decode_image",
    "describe",
    "downscale",
    "find_faces",
    "frame_metrics",
    "frames_from_video",
    "issue_challenge",
    "match_images",
    "open_challenge",
    "parse_actions",
    "sample_face",
    "warm_up",
]
