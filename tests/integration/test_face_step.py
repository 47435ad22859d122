"""The signer's face step over HTTP: every bad capture gets a Chinese answer, never a 500."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import itertools
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from backend import app as app_module
from backend.config import get_settings
from backend.envelopes.services import resolve_link
from backend.evidence.services import events_for
from backend.identity import face_step
from backend.identity.tables import FaceEvidenceFrame
from backend.jobs.services import registered_kinds
from backend.jobs.tables import Job
from backend.keys import derived_key
from ml import face
from tests.integration.journey import car_purchase_body, read_all_pages, wait_for_sms
from tests.unit.face import footage
from tests.unit.identity.aliyun_fake import ACCESS_KEY_ID, ACCESS_KEY_SECRET, FakeAliyun

FACES = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "faces"
_numbers = itertools.count(3000)

pytestmark = pytest.mark.skipif(
    not (FACES / "obama_1.jpg").exists(), reason=f"face test photos not found at {FACES}"
)


def _jpeg(rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return bytes(buf.tobytes())


def _photo(name: str, width: int = 480) -> np.ndarray:
    rgb = face.decode_image((FACES / name).read_bytes())
    small, _ = face.downscale(rgb, width)
    return small


def _wobble(rgb: np.ndarray, seed: int, gain: float = 1.0) -> bytes:
    rng = np.random.default_rng(seed)
    m = np.float32([[1, 0, rng.normal(0, 3)], [0, 1, rng.normal(0, 3)]])
    moved = cv2.warpAffine(rgb, m, (rgb.shape[1], rgb.shape[0]), borderMode=cv2.BORDER_REPLICATE)
    return _jpeg(np.clip(moved.astype(np.float64) * gain, 0, 255).astype(np.uint8))


async def _envelope(client: Any, auth: dict[str, str], outbox: Any, **buyer: str) -> str:
    n = next(_numbers)
    buyer_phone, dealer_phone = f"1350000{n:04d}", f"1340000{n:04d}"
    body = car_purchase_body(buyer_phone, dealer_phone)
    body["signers"][0].update(buyer)
    created = await client.post("/api/v1/envelopes", json=body, headers=auth)
    assert created.status_code == 201, created.text
    await wait_for_sms(outbox, buyer_phone)
    return outbox.link_for(buyer_phone)


def _signer_id_of(page_text: str) -> str:
    token = page_text.split('name="challenge" value="', 1)[1].split('"', 1)[0]
    body = token.split(".", 1)[0]
    import base64
    import json

    return str(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["s"])


async def _challenge(client: Any, link: str) -> str:
    answer = await client.post(f"{link}/face/challenge")
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["prompts"] and all(p.startswith("请") for p in data["prompts"])
    return str(data["challenge"])


async def _submit(
    client: Any,
    link: str,
    frames: list[bytes],
    *,
    challenge: str | None = None,
    reference: bytes | None = None,
    times: list[float] | None = None,
    htmx: bool = True,
    with_reference: bool = True,
) -> Any:
    challenge = challenge or await _challenge(client, link)
    files: list[tuple[str, tuple[str, io.BytesIO, str]]] = [
        ("frame", (f"f{i}.jpg", io.BytesIO(f), "image/jpeg")) for i, f in enumerate(frames)
    ]
    ref = reference if reference is not None else (FACES / "obama_2.jpg").read_bytes()
    if with_reference:
        files.append(("reference", ("id.jpg", io.BytesIO(ref), "image/jpeg")))
    stamps = times if times is not None else [i * 200 for i in range(len(frames))]
    answer = await client.post(
        f"{link}/face/verify",
        data={"challenge": challenge, "timestamps": str(list(stamps))},
        files=files,
        headers={"HX-Request": "true"} if htmx else {},
    )
    assert answer.status_code < 500, answer.text
    assert "Traceback" not in answer.text
    return answer


async def test_the_face_page_draws_a_challenge_and_offers_both_ways(client, auth, outbox):
    link = await _envelope(client, auth, outbox, identity="face")
    start = await client.get(link)
    assert f'href="{link}/identity"' in start.text or "/face" in start.text
    page = await client.get(f"{link}/face")
    assert page.status_code == 200
    for testid in ("face-start", "face-video", "face-reference"):
        assert f'data-testid="{testid}"' in page.text
    assert 'accept="video/*" capture="user"' in page.text
    assert "/static/js/face-capture.js" in page.text
    assert (await client.get("/static/js/face-capture.js")).status_code == 200


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("still", "静态画面"),
        ("no_face", "没有检测到人脸"),
        ("two_faces", "多张人脸"),
        ("dark", "光线太暗"),
        ("non_image", "不是有效的图片"),
        ("reference_not_image", "身份证照片不是有效的图片"),
    ],
)
async def test_bad_captures_are_explained_in_chinese(client, auth, outbox, case, expected):
    link = await _envelope(client, auth, outbox, identity="face")
    obama = _photo("obama_1.jpg")
    reference = None
    if case == "still":
        frames = [_jpeg(obama)] * 8
    elif case == "no_face":
        wall = np.full((480, 640, 3), 170, np.uint8)
        frames = [_wobble(wall, i) for i in range(8)]
    elif case == "two_faces":
        two = _photo("two_people.jpg", 640)
        frames = [_wobble(two, i) for i in range(8)]
    elif case == "dark":
        frames = [_wobble(obama, i, gain=0.12) for i in range(8)]
    elif case == "non_image":
        frames = [b"%PDF-1.4 definitely not a frame"] * 6
    else:
        frames = [_wobble(obama, i) for i in range(8)]
        reference = b"GIF89a but not really"
    answer = await _submit(client, link, frames, reference=reference)
    assert answer.status_code == 200
    assert 'data-testid="face-error"' in answer.text
    assert expected in answer.text, answer.text
    assert 'data-testid="face-retry"' in answer.text
    assert "还可以再试 4 次" in answer.text


async def test_an_expired_or_reused_nonce_is_refused(client, auth, outbox):
    link = await _envelope(client, auth, outbox, identity="face")
    page = await client.get(f"{link}/face")
    subject = _signer_id_of(page.text)
    old = face.issue_challenge(
        derived_key(face_step.CHALLENGE_PURPOSE), subject, now=time.time() - 3600
    )
    frames = [_wobble(_photo("biden_1.jpg"), i) for i in range(6)]
    expired = await _submit(client, link, frames, challenge=old.token)
    assert "已超时或已使用" in expired.text
    forged = await _submit(client, link, frames, challenge=old.token[:-3] + "abc")
    assert "刷脸请求无效" in forged.text
    fresh = await _challenge(client, link)
    await _submit(client, link, frames, challenge=fresh)
    again = await _submit(client, link, frames, challenge=fresh)
    assert "已超时或已使用" in again.text


async def test_huge_uploads_and_garbage_bodies_never_500(client, auth, outbox):
    link = await _envelope(client, auth, outbox, identity="face")
    big = [b"\xff\xd8" + b"\0" * 4_000_000] * 4  # 16 MB of "frames"
    answer = await _submit(client, link, big)
    assert "上传的内容过大" in answer.text
    plain = await client.post(f"{link}/face/verify", data={"challenge": "x"})
    assert plain.status_code == 400 and "刷脸" in plain.text
    empty = await client.post(
        f"{link}/face/verify", content=b"\0" * 100, headers={"content-type": "multipart/form-data"}
    )
    assert empty.status_code < 500


async def test_attempts_are_limited(client, auth, outbox):
    link = await _envelope(client, auth, outbox, identity="face")
    frames = [b"not an image"] * 5
    for left in (4, 3, 2, 1):
        answer = await _submit(client, link, frames)
        assert f"还可以再试 {left} 次" in answer.text
    locked = await _submit(client, link, frames)
    assert 'data-testid="face-locked"' in locked.text
    page = await client.get(f"{link}/face")
    assert 'data-testid="face-locked"' in page.text and 'data-testid="face-start"' not in page.text


async def test_a_passed_face_check_records_identity(client, auth, outbox, monkeypatch):
    async def passing(settings: Any, **kwargs: Any) -> face.FaceAssessment:
        return face.FaceAssessment(
            passed=True,
            reasons=[],
            liveness=None,
            match=None,
            frame_hashes=["ab" * 32],
            best_frame_sha256="cd" * 32,
            reference_sha256="ef" * 32,
            scores={"match_distance": 0.31},
        )

    monkeypatch.setattr(face_step, "_assess", passing)
    link = await _envelope(client, auth, outbox, identity="face")
    answer = await _submit(client, link, [_jpeg(_photo("obama_1.jpg"))] * 5)
    assert answer.headers.get("hx-redirect") == link
    token = link.rsplit("/", 1)[1]
    from backend.envelopes.services import resolve_link
    from backend.evidence.services import events_for

    ctx = await resolve_link(token)
    assert ctx is not None and ctx.signer.identity_method == "face"
    verified = [e for e in await events_for(ctx.envelope.id) if e["kind"] == "signer.verified"]
    assert verified[-1]["data"]["method"] == "face"
    assert verified[-1]["data"]["frame_sha256"] == ["ab" * 32]


async def test_face_as_intent_needs_reading_then_opens_the_signing_step(
    client, auth, outbox, monkeypatch
):
    async def passing(settings: Any, **kwargs: Any) -> face.FaceAssessment:
        return face.FaceAssessment(True, [], None, None, ["00" * 32], scores={})

    monkeypatch.setattr(face_step, "_assess", passing)
    link = await _envelope(client, auth, outbox, intent="face")
    page = await client.get(f"{link}/face")
    assert 'data-testid="face-needs-read"' in page.text
    await read_all_pages(client, link)
    answer = await _submit(client, link, [_jpeg(_photo("obama_1.jpg"))] * 5, htmx=False)
    # A plain form post follows the 303 to the pad, carrying the intent session cookie.
    assert answer.status_code == 200, answer.text
    assert str(answer.url).endswith(f"{link}/sign")
    assert 'data-testid="signature-pad"' in answer.text


def test_reason_codes_all_have_messages() -> None:
    codes = {
        "no_face", "multiple_faces", "face_too_small", "face_off_centre", "too_dark",
        "too_bright", "blurry", "eyes_closed", "identity_changed", "frames_identical",
        "no_natural_motion", "flat_picture", "challenge_wrong_order", "timestamps_implausible",
        "too_few_frames", "different_person", "reference_no_face", "not_a_video",
    }  # fmt: skip
    for code in codes:
        assert code in face_step.MESSAGES
    assert "眨眨眼" in face_step.message_for("challenge_missing:blink")


# ------------------------------------------------------------------ real captures


@pytest.fixture
def use_settings(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Settings the request handlers see, for this test only."""

    def apply(**changes: Any) -> Any:
        settings = dataclasses.replace(get_settings(), **changes)
        monkeypatch.setattr(app_module, "get_settings", lambda: settings)
        return settings

    return apply


async def _live(client: Any, link: str, **kwargs: Any) -> Any:
    """Draw a challenge, let the capture's real duration pass, then send the clip's frames."""
    challenge = await _challenge(client, link)
    frames, times = footage.live_capture(FACES)
    await asyncio.sleep(times[-1] / 1000)
    return await _submit(client, link, frames, challenge=challenge, times=times, **kwargs)


async def _events(link: str, kind: str) -> list[dict[str, Any]]:
    ctx = await resolve_link(link.rsplit("/", 1)[1])
    assert ctx is not None
    return [e for e in await events_for(ctx.envelope.id) if e["kind"] == kind]


async def test_real_footage_passes_and_its_best_frame_is_kept_sealed_until_purged(
    client, auth, outbox, use_settings
):
    use_settings(face_fixed_challenge=footage.CHALLENGE, face_frame_retention_days=7)
    link = await _envelope(client, auth, outbox, identity="face")
    page = await client.get(f"{link}/face")
    assert "7 天后自动删除" in page.text
    answer = await _live(client, link, reference=footage.reference_photo(FACES))
    assert answer.headers.get("hx-redirect") == link, answer.text
    ctx = await resolve_link(link.rsplit("/", 1)[1])
    assert ctx is not None and ctx.signer.identity_method == "face"
    passed = (await _events(link, "face.passed"))[-1]["data"]
    assert passed["scores"]["match_distance"] <= 0.55 and passed["provider"] == "local"
    assert len(passed["frame_sha256"]) == 16

    rows = await FaceEvidenceFrame.select().where(FaceEvidenceFrame.signer == ctx.signer.id)
    assert len(rows) == 1
    row = rows[0]
    assert row["sha256"] == passed["best_frame_sha256"]
    assert not row["frame_sealed"].startswith(b"\xff\xd8")  # sealed, not a readable JPEG
    assert hashlib.sha256(row["frame_sealed"]).hexdigest() != row["sha256"]
    [(sha, jpeg)] = await face_step.kept_frames(ctx.signer.id)
    assert hashlib.sha256(jpeg).hexdigest() == sha == row["sha256"]
    assert len(face.find_faces(face.decode_image(jpeg))) == 1
    kept_for = row["expires_at"] - row["created_at"]
    assert timedelta(days=7) - timedelta(seconds=5) <= kept_for <= timedelta(days=7)
    assert passed["best_frame_kept_until"] == row["expires_at"].isoformat()

    # The purge is queued for the moment the frame expires, and deletes it then, not before.
    assert face_step.PURGE_JOB in registered_kinds()
    queued = await Job.count().where(
        (Job.kind == face_step.PURGE_JOB) & (Job.run_at == row["expires_at"])
    )
    assert queued == 1
    await face_step.purge_expired_frames(now=row["expires_at"] - timedelta(seconds=1))
    assert len(await face_step.kept_frames(ctx.signer.id)) == 1
    assert await face_step.purge_expired_frames(now=row["expires_at"]) >= 1
    assert await face_step.kept_frames(ctx.signer.id) == []


async def test_real_footage_against_another_persons_id_photo_is_refused(
    client, auth, outbox, use_settings
):
    use_settings(face_fixed_challenge=footage.CHALLENGE)
    link = await _envelope(client, auth, outbox, identity="face")
    answer = await _live(client, link)  # obama_2.jpg as the ID photo
    assert "与身份证人像不一致" in answer.text
    assert "还可以再试 4 次" in answer.text
    failed = (await _events(link, "face.failed"))[-1]["data"]
    assert failed["reasons"] == ["different_person"] and failed["scores"]["match_distance"] > 0.55
    ctx = await resolve_link(link.rsplit("/", 1)[1])
    assert ctx is not None
    assert await face_step.kept_frames(ctx.signer.id) == []  # only a passed check keeps one


async def test_timestamps_that_are_not_numbers_are_implausible(client, auth, outbox):
    link = await _envelope(client, auth, outbox, identity="face")
    frames = [_wobble(_photo("obama_1.jpg"), i) for i in range(6)]
    answer = await _submit(client, link, frames, times=["NaN"] * 6)  # type: ignore[list-item]
    assert "拍摄时间异常" in answer.text


@pytest.fixture
def fake_aliyun() -> Any:
    server = FakeAliyun().start()
    yield server
    server.stop()


CONTRACT_ID = "11010519491231002X"  # the buyer's ID number in car_purchase_body


@pytest.mark.parametrize(
    ("scenario", "words", "spent"),
    [
        ("match", "", 0),
        ("mismatch", "与身份证人像不一致", 1),
        ("no_record", "查不到该身份证的照片", 1),
        ("liveness_risk", "疑似翻拍或合成", 1),
        ("internal", "暂时不可用，本次不计入失败次数", 0),
        ("business_error", "暂时不可用，本次不计入失败次数", 0),
    ],
)
async def test_aliyun_compares_the_live_face_with_the_official_photo(
    client, auth, outbox, use_settings, fake_aliyun, scenario, words, spent
):
    use_settings(
        face_provider="aliyun",
        aliyun_access_key_id=ACCESS_KEY_ID,
        aliyun_access_key_secret=ACCESS_KEY_SECRET,
        aliyun_cloudauth_endpoint=fake_aliyun.url,
        aliyun_face_scene_id="1000000006",
        aliyun_timeout_seconds=3,
        face_fixed_challenge=footage.CHALLENGE,
        face_frame_retention_days=0,
    )
    fake_aliyun.scenarios[CONTRACT_ID] = scenario
    link = await _envelope(client, auth, outbox, identity="face")
    claimed = await client.post(
        f"{link}/identity",
        data={"name": "张三", "id_type": "id_card", "id_number": CONTRACT_ID},
        follow_redirects=False,
    )
    assert claimed.status_code == 303, claimed.text
    page = await client.get(f"{link}/face")
    assert 'data-testid="face-official-photo"' in page.text
    assert 'data-testid="face-reference"' not in page.text  # no ID-card photo needed
    answer = await _live(client, link, with_reference=False)

    calls = fake_aliyun.calls("ContrastFaceVerify")
    assert len(calls) == 1  # signed as Aliyun checks it: no signature or nonce rejection
    assert not {"SignatureDoesNotMatch", "SignatureNonceUsed"} & set(fake_aliyun.rejections)
    assert calls[0]["CertNo"] == CONTRACT_ID and calls[0]["CertName"] == "张三"
    sent = fake_aliyun.face_pictures[-1]
    ctx = await resolve_link(link.rsplit("/", 1)[1])
    assert ctx is not None
    if scenario == "match":
        assert answer.headers.get("hx-redirect") == link, answer.text
        verified = (await _events(link, "signer.verified"))[-1]["data"]
        assert verified["method"] == "face" and verified["provider"] == "aliyun"
        passed = (await _events(link, "face.passed"))[-1]["data"]
        assert verified["provider_request_id"] == passed["provider_request_id"] != ""
        assert hashlib.sha256(sent).hexdigest() == passed["best_frame_sha256"]
        assert await face_step.kept_frames(ctx.signer.id) == []  # retention 0: not kept
        return
    assert ctx.signer.identity_verified_at is None
    assert words in answer.text, answer.text
    assert f"还可以再试 {5 - spent} 次" in answer.text
    kind = "face.failed" if spent else "face.error"
    recorded = (await _events(link, kind))[-1]["data"]
    assert recorded["provider"] == "aliyun" and recorded["provider_request_id"]


async def test_a_selfie_video_from_the_fallback_input_passes(
    client, auth, outbox, use_settings, tmp_path
):
    use_settings(face_fixed_challenge=footage.CHALLENGE)
    link = await _envelope(client, auth, outbox, identity="face")
    clip = footage.selfie_mp4(FACES, tmp_path / "selfie.mp4")
    challenge = await _challenge(client, link)
    await asyncio.sleep(3.5)  # the clip lasts 5.3 s; it cannot be older than its challenge
    answer = await client.post(
        f"{link}/face/verify",
        data={"challenge": challenge, "timestamps": "[]"},
        files=[
            ("video", ("selfie.mp4", io.BytesIO(clip), "video/mp4")),
            ("reference", ("id.jpg", io.BytesIO(footage.reference_photo(FACES)), "image/jpeg")),
        ],
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == link, answer.text
    passed = (await _events(link, "face.passed"))[-1]["data"]
    assert len(passed["frame_sha256"]) == 12 and passed["scores"]["match_distance"] <= 0.55


async def test_face_as_intent_without_a_claimed_id_matches_locally_even_with_aliyun_set(
    client, auth, outbox, use_settings, fake_aliyun
):
    use_settings(
        face_provider="aliyun",
        aliyun_access_key_id=ACCESS_KEY_ID,
        aliyun_access_key_secret=ACCESS_KEY_SECRET,
        aliyun_cloudauth_endpoint=fake_aliyun.url,
        aliyun_face_scene_id="1000000006",
        face_fixed_challenge=footage.CHALLENGE,
    )
    link = await _envelope(client, auth, outbox, intent="face")
    await read_all_pages(client, link)
    page = await client.get(f"{link}/face")
    # No name and ID number to look up: the signer's own ID-card photo is the reference.
    assert 'data-testid="face-reference"' in page.text
    assert 'data-testid="face-official-photo"' not in page.text
    answer = await _live(client, link, reference=footage.reference_photo(FACES))
    assert answer.headers.get("hx-redirect"), answer.text
    assert fake_aliyun.calls("ContrastFaceVerify") == []
    passed = (await _events(link, "face.passed"))[-1]["data"]
    assert passed["provider"] == "local" and passed["mode"] == "intent"


async def test_provider_errors_are_free_only_up_to_the_attempt_limit(
    client, auth, outbox, use_settings, fake_aliyun
):
    use_settings(
        face_provider="aliyun",
        aliyun_access_key_id=ACCESS_KEY_ID,
        aliyun_access_key_secret=ACCESS_KEY_SECRET,
        aliyun_cloudauth_endpoint=fake_aliyun.url,
        aliyun_face_scene_id="1000000006",
        face_fixed_challenge=footage.CHALLENGE,
        face_max_attempts=1,
    )
    fake_aliyun.scenarios[CONTRACT_ID] = "business_error"
    link = await _envelope(client, auth, outbox, identity="face")
    claimed = await client.post(
        f"{link}/identity",
        data={"name": "张三", "id_type": "id_card", "id_number": CONTRACT_ID},
        follow_redirects=False,
    )
    assert claimed.status_code == 303
    first = await _live(client, link, with_reference=False)
    assert "本次不计入失败次数" in first.text and "还可以再试 1 次" in first.text
    second = await _live(client, link, with_reference=False)
    assert 'data-testid="face-locked"' in second.text
    assert "本次不计入失败次数" not in second.text
    assert len(fake_aliyun.calls("ContrastFaceVerify")) == 2
