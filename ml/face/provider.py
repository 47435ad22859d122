"""Face verifiers behind one protocol: the local model, or a cloud service.

``LocalFaceVerifier`` compares the live face with the signer's own photo of their ID
card. ``AliyunFaceVerifier`` is the production-grade option: Aliyun Cloudauth
``ContrastFaceVerify`` (version 2019-03-07, product ``ID_MIN``) compares the live photo
with the official photo of the ID card's holder, found by name and ID number.

Relied on (Aliyun Cloudauth API reference, "ContrastFaceVerify - 照片实人认证"):

- request: SceneId, OuterOrderNo (<= 32 letters and digits, unique), ProductCode=ID_MIN,
  Model (FRONT_CAMERA_LIVENESS: a front-camera photo, also checked for attacks),
  CertType=IDENTITY_CARD, CertName, CertNo, FaceContrastPicture (the JPEG, base64,
  under 1 MB);
- answer: ``{"Code": "200", "Message", "RequestId", "ResultObject": {"Passed": "T"|"F",
  "SubCode", "CertifyId"}}``. Any other Code is an error (401 bad parameter, 417 the
  official source is unavailable, 418 too many attempts today, 500 system error).
  ``Passed`` decides; SubCode explains: 200 passed, 201 name and ID number disagree,
  202 no identity record, 203 no usable official photo, 204 a different face,
  205 liveness risk, 206 business policy.

The HTTP call itself is injected (``rpc``): the backend passes its signed
aliyun-python-sdk-core ``CommonRequest`` client, so this module stays free of web code.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ml.face.match import DEFAULT_THRESHOLD, MatchResult, compare, sample_face

#: One signed RPC call: (version, action, params) -> the decoded JSON answer. Raises
#: ``FaceProviderError`` when there is no usable answer.
RpcCall = Callable[[str, str, dict[str, str]], dict[str, Any]]

CLOUDAUTH_VERSION = "2019-03-07"
MAX_PICTURE_BYTES = 1_000_000

#: SubCode of a failed ContrastFaceVerify -> our reason code.
ALIYUN_REASONS: dict[str, str] = {
    "201": "provider_id_mismatch",
    "202": "provider_no_record",
    "203": "provider_no_record",
    "204": "different_person",
    "205": "provider_liveness_risk",
    "206": "provider_rejected",
}


class ProviderNotConfigured(RuntimeError):
    """The provider cannot answer: credentials or the scene id are missing."""


class FaceProviderError(Exception):
    """No verdict from the provider (timeout, throttling, bad answer). Never a pass."""

    def __init__(self, code: str, *, transient: bool = False, request_id: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.transient = transient
        self.request_id = request_id


@dataclass(frozen=True)
class FaceCheck:
    result: MatchResult
    provider: str
    request_id: str
    sub_code: str = ""


class FaceVerifier(Protocol):
    @property
    def name(self) -> str: ...

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


_ORDER_NO = re.compile(r"[^0-9A-Za-z]")


@dataclass(frozen=True)
class AliyunFaceVerifier:
    """Aliyun Cloudauth ContrastFaceVerify: the live photo against the official ID photo."""

    rpc: RpcCall | None = None
    scene_id: str = ""
    model: str = "FRONT_CAMERA_LIVENESS"
    name: str = "aliyun"

    @property
    def configured(self) -> bool:
        return self.rpc is not None and self.scene_id.isdigit()

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
        """``reference_image`` is not used: the reference is the official photo."""
        if self.rpc is None or not self.configured:
            raise ProviderNotConfigured(
                "Aliyun face verification needs credentials and a numeric scene id"
            )
        if not id_name or not id_number:
            raise ValueError("ContrastFaceVerify needs the holder's name and ID number")
        if not live_jpeg or len(live_jpeg) > MAX_PICTURE_BYTES:
            raise ValueError("the live picture must be a JPEG under 1 MB")
        answer = self.rpc(
            CLOUDAUTH_VERSION,
            "ContrastFaceVerify",
            {
                "SceneId": self.scene_id,
                "OuterOrderNo": _ORDER_NO.sub("", request_id)[:32],
                "ProductCode": "ID_MIN",
                "Model": self.model,
                "CertType": "IDENTITY_CARD",
                "CertName": id_name,
                "CertNo": id_number,
                "FaceContrastPicture": base64.b64encode(live_jpeg).decode(),
            },
        )
        return self._result(answer)

    def _result(self, answer: dict[str, Any]) -> FaceCheck:
        provider_id = str(answer.get("RequestId") or "")
        code = str(answer.get("Code") or "")
        if code != "200":
            # Errors answered with HTTP 200 (a bad parameter, the source unavailable) too.
            raise FaceProviderError(
                code or "NoCode", transient=code in {"500", "417"}, request_id=provider_id
            )
        result = answer.get("ResultObject")
        if not isinstance(result, dict) or result.get("Passed") not in ("T", "F"):
            raise FaceProviderError("UnexpectedAnswer", request_id=provider_id)
        sub_code = str(result.get("SubCode") or "")
        if result["Passed"] == "T":
            match = MatchResult(True, None, DEFAULT_THRESHOLD, [])
        else:
            reason = ALIYUN_REASONS.get(sub_code, "provider_rejected")
            match = MatchResult(False, None, DEFAULT_THRESHOLD, [reason])
        return FaceCheck(match, self.name, provider_id, sub_code)
