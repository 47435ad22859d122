"""The Aliyun face verifier through the real SDK against a local server speaking Aliyun RPC.

The server checks the request signature, the timestamp and the nonce as Aliyun does, then
answers ContrastFaceVerify the documented way; a provider error is never a pass.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from backend.config import Settings
from backend.identity.face_step import face_verifier
from ml import face
from tests.unit.face.conftest import jpeg, load
from tests.unit.identity.aliyun_fake import ACCESS_KEY_ID, ACCESS_KEY_SECRET, FakeAliyun

ID_NUMBER = "110105199003070017"


@pytest.fixture
def fake():
    server = FakeAliyun().start()
    yield server
    server.stop()


def verifier(fake: FakeAliyun, **changes: str) -> face.FaceVerifier:
    base: dict[str, object] = {
        "face_provider": "aliyun",
        "aliyun_access_key_id": ACCESS_KEY_ID,
        "aliyun_access_key_secret": ACCESS_KEY_SECRET,
        "aliyun_cloudauth_endpoint": fake.url,
        "aliyun_face_scene_id": "1000000006",
        "aliyun_timeout_seconds": 2,
    }
    settings = dataclasses.replace(Settings(), **{**base, **changes})
    found = face_verifier(settings)
    assert found is not None and found.name == "aliyun"
    return found


@pytest.fixture(scope="module")
def live_jpeg(faces) -> bytes:
    return jpeg(load(faces / "obama_1.jpg", 480))


def check(v: face.FaceVerifier, picture: bytes, id_number: str = ID_NUMBER) -> face.FaceCheck:
    return v.verify(
        [0.0] * 128,
        picture,
        reference_image=None,
        id_name="张三",
        id_number=id_number,
        request_id="8f6c1d2e-0b4a-4f1e-9a77-3c2d1e0f9a88",
    )


def test_a_match_sends_the_live_picture_and_the_claimed_identity(fake, live_jpeg):
    result = check(verifier(fake), live_jpeg)
    assert result.result.match and result.result.reasons == []
    assert result.provider == "aliyun" and len(result.request_id) >= 32
    assert fake.rejections == []
    sent = fake.calls("ContrastFaceVerify")[-1]
    assert sent["CertName"] == "张三" and sent["CertNo"] == ID_NUMBER
    assert sent["ProductCode"] == "ID_MIN" and sent["CertType"] == "IDENTITY_CARD"
    assert sent["SceneId"] == "1000000006" and sent["Model"] == "FRONT_CAMERA_LIVENESS"
    assert sent["OuterOrderNo"].isalnum() and len(sent["OuterOrderNo"]) == 32
    assert hashlib.sha256(fake.face_pictures[-1]).digest() == hashlib.sha256(live_jpeg).digest()


@pytest.mark.parametrize(
    ("scenario", "reason", "sub_code"),
    [
        ("mismatch", "different_person", "204"),
        ("no_record", "provider_no_record", "202"),
        ("id_mismatch", "provider_id_mismatch", "201"),
        ("liveness_risk", "provider_liveness_risk", "205"),
    ],
)
def test_a_refusal_says_why(fake, live_jpeg, scenario, reason, sub_code):
    fake.scenarios[ID_NUMBER] = scenario
    result = check(verifier(fake), live_jpeg)
    assert not result.result.match
    assert result.result.reasons == [reason] and result.sub_code == sub_code


@pytest.mark.parametrize(
    ("scenario", "code"), [("internal", "InternalError"), ("business_error", "417")]
)
def test_provider_errors_are_never_a_pass(fake, live_jpeg, scenario, code):
    fake.scenarios[ID_NUMBER] = scenario
    with pytest.raises(face.FaceProviderError) as raised:
        check(verifier(fake), live_jpeg)
    assert raised.value.code == code and raised.value.request_id


def test_a_wrong_secret_is_refused_by_the_signature_check(fake, live_jpeg):
    with pytest.raises(face.FaceProviderError) as raised:
        check(verifier(fake, aliyun_access_key_secret="not-the-secret"), live_jpeg)
    assert raised.value.code == "SignatureDoesNotMatch"
    assert fake.calls("ContrastFaceVerify") == []


def test_an_unreachable_endpoint_is_an_error(live_jpeg):
    dead = Settings(
        face_provider="aliyun",
        aliyun_access_key_id=ACCESS_KEY_ID,
        aliyun_access_key_secret=ACCESS_KEY_SECRET,
        aliyun_cloudauth_endpoint="http://127.0.0.1:9",
        aliyun_face_scene_id="1",
        aliyun_timeout_seconds=1,
    )
    v = face_verifier(dead)
    assert v is not None
    with pytest.raises(face.FaceProviderError):
        check(v, live_jpeg)


def test_unexpected_answers_are_errors():
    def rpc(version: str, action: str, params: dict[str, str]) -> dict[str, object]:
        return json.loads('{"RequestId": "R1", "Code": "200", "ResultObject": {}}')

    with pytest.raises(face.FaceProviderError, match="UnexpectedAnswer"):
        check(face.AliyunFaceVerifier(rpc=rpc, scene_id="1"), b"\xff\xd8jpeg")


def test_without_a_scene_id_it_is_not_configured(live_jpeg):
    with pytest.raises(face.ProviderNotConfigured):
        check(face.AliyunFaceVerifier(rpc=lambda *a: {}, scene_id=""), live_jpeg)
    assert face_verifier(Settings()) is None  # local by default
    with pytest.raises(ValueError):
        face_verifier(Settings(face_provider="mystery"))
