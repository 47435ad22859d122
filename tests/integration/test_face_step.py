"""The signer's face step over HTTP: every bad capture gets a Chinese answer, never a 500."""

from __future__ import annotations

import io
import itertools
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from backend.identity import face_step
from backend.keys import derived_key
from ml import face
from tests.integration.journey import car_purchase_body, read_all_pages, wait_for_sms

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
) -> Any:
    challenge = challenge or await _challenge(client, link)
    files: list[tuple[str, tuple[str, io.BytesIO, str]]] = [
        ("frame", (f"f{i}.jpg", io.BytesIO(f), "image/jpeg")) for i, f in enumerate(frames)
    ]
    ref = reference if reference is not None else (FACES / "obama_2.jpg").read_bytes()
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
