"""Face verifiers behind one protocol: the local model, or a cloud service.

``LocalFaceVerifier`` compares the live face with the signer's own photo of their ID
card. ``AliyunFaceVerifier`` is the production-grade option that compares against the
national photo database (Aliyun Cloudauth); it is an interface with an explicit
"not configured" answer until credentials and the contract with Aliyun exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ml.face.match import DEFAULT_THRESHOLD, MatchResult, compare, sample_face


class ProviderNotConfigured(RuntimeError):
    """The provider cannot answer: missing credentials or not implemented in this build."""


@dataclass(frozen=True)
class FaceCheck:
    result: MatchResult
    provider: str
    request_id: str


class FaceVerifier(Protocol):
    name: str

    def verify(
        self,
        live_descriptor: list[float],
        live_jpeg: bytes,
        *,
        reference_image: bytes | None,
        id_name: str = "",
        id_number: str = "",
        request_id: str,
    ) -> FaceCheck: ...


@dataclass(frozen=True)
class LocalFaceVerifier:
    threshold: float = DEFAULT_THRESHOLD
    name: str = "local"

    def verify(
        self,
        live_descriptor: list[float],
        live_jpeg: bytes,
        *,
        reference_image: bytes | None,
        id_name: str = "",
        id_number: str = "",
        request_id: str,
    ) -> FaceCheck:
        if reference_image is None:
            return FaceCheck(
                MatchResult(False, None, self.threshold, ["reference_missing"]),
                self.name,
                request_id,
            )
        ref = sample_face(reference_image, role="reference")
        if ref.descriptor is None:
            return FaceCheck(
                MatchResult(False, None, self.threshold, [ref.problem]), self.name, request_id
            )
        return FaceCheck(
            compare(live_descriptor, ref.descriptor, self.threshold), self.name, request_id
        )


@dataclass(frozen=True)
class AliyunFaceVerifier:
    """Aliyun Cloudauth face verification (live photo vs the national ID photo)."""

    access_key_id: str = ""
    access_key_secret: str = ""
    scene_id: str = ""
    name: str = "aliyun"

    @property
    def configured(self) -> bool:
        return bool(self.access_key_id and self.access_key_secret and self.scene_id)

    def verify(
        self,
        live_descriptor: list[float],
        live_jpeg: bytes,
        *,
        reference_image: bytes | None,
        id_name: str = "",
        id_number: str = "",
        request_id: str,
    ) -> FaceCheck:
        if not self.configured:
            raise ProviderNotConfigured(
                "Aliyun face verification needs an access key, its secret and a scene id"
            )
        # Never report a result that no one computed: the call itself is not built yet.
        raise ProviderNotConfigured("the Aliyun Cloudauth call is not implemented in this build")
