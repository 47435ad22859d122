"""Manual identity review: upload, the organisation's API queue, the outcome by SMS."""

from __future__ import annotations

import asyncio
import uuid

from backend.evidence.services import events_for
from backend.identity.tables import IdentityReview
from tests.unit.identity.support import claim, identity_envelope, photo


async def wait_for_text(outbox, to: str, words: str, timeout: float = 15) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = [m["text"] for m in outbox.messages(to) if words in m["text"]]
        if found:
            return found[-1]
        assert loop.time() < deadline, f"no SMS with {words!r} to {to}"
        await asyncio.sleep(0.05)


async def upload(client, link, front=None, holding=None):
    files = {
        "front": ("front.jpg", front if front is not None else photo(), "image/jpeg"),
        "holding": ("holding.jpg", holding if holding is not None else photo(), "image/jpeg"),
    }
    return await client.post(f"{link}/identity/manual", files=files, follow_redirects=False)


async def pending_review(client, auth, envelope_id: str) -> dict:
    listed = await client.get("/api/v1/identity/reviews", headers=auth)
    assert listed.status_code == 200, listed.text
    mine = [r for r in listed.json() if r["envelope_id"] == envelope_id]
    assert len(mine) == 1
    return mine[0]


async def test_upload_is_checked_and_sealed(client, auth, outbox):
    envelope_id, link, _ = await identity_envelope(client, auth, outbox)
    await claim(client, link)
    page = await client.get(f"{link}/identity/manual")
    for testid in ("review-front", "review-holding", "verify-submit"):
        assert f'data-testid="{testid}"' in page.text
    assert "15–30 分钟" in page.text

    not_image = await upload(client, link, front=b"%PDF-1.7 not a photo")
    assert not_image.status_code == 400 and "无法识别" in not_image.text
    tiny = await upload(client, link, holding=photo((100, 80)))
    assert tiny.status_code == 400 and "太小" in tiny.text
    missing = await upload(client, link, front=b"")
    assert missing.status_code == 400 and "请上传" in missing.text

    front = photo((900, 600), "PNG")
    done = await upload(client, link, front=front)
    assert done.status_code == 303 and done.headers["location"] == f"{link}/identity/manual"
    waiting = await client.get(f"{link}/identity/manual")
    assert 'data-testid="review-pending"' in waiting.text and "15–30 分钟" in waiting.text
    again = await upload(client, link)
    assert again.status_code == 409 and "耐心等待" in again.text

    row = (
        await IdentityReview.objects()
        .where(IdentityReview.envelope == uuid.UUID(envelope_id))
        .first()
    )
    assert front not in row.front_sealed and b"110105199003070017" not in row.id_sealed
    review = await pending_review(client, auth, envelope_id)
    assert review["id_number"] == "110***********0017" and review["name"] == "张三"
    image = await client.get(review["front_url"], headers=auth)
    assert image.status_code == 200 and image.content == front
    assert image.headers["content-type"].startswith("image/png")
    assert (await client.get(review["front_url"])).status_code == 401


async def test_reject_with_reason_then_approve(client, auth, outbox):
    envelope_id, link, buyer = await identity_envelope(client, auth, outbox)
    await claim(client, link, "E12345678", id_type="passport")
    assert (await upload(client, link)).status_code == 303
    review = await pending_review(client, auth, envelope_id)
    assert review["id_type"] == "passport"

    no_reason = await client.post(
        f"/api/v1/identity/reviews/{review['id']}/reject", json={"reason": ""}, headers=auth
    )
    assert no_reason.status_code == 400 and "原因" in no_reason.json()["error"]["message"]
    rejected = await client.post(
        f"/api/v1/identity/reviews/{review['id']}/reject",
        json={"reason": "手持照片中证件号码不清晰"},
        headers=auth,
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    text = await wait_for_text(outbox, buyer, "未通过人工审核")
    assert link in text
    page = await client.get(f"{link}/identity/manual")
    assert 'data-testid="review-rejected"' in page.text and "证件号码不清晰" in page.text
    twice = await client.post(f"/api/v1/identity/reviews/{review['id']}/approve", headers=auth)
    assert twice.status_code == 409

    assert (await upload(client, link)).status_code == 303
    second = await pending_review(client, auth, envelope_id)
    approved = await client.post(f"/api/v1/identity/reviews/{second['id']}/approve", headers=auth)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    await wait_for_text(outbox, buyer, "已通过人工审核")
    read = await client.get(link)
    assert 'data-testid="identity-start"' not in read.text
    status = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()
    assert status["signers"][0]["identity_verified"] is True

    kinds = [e["kind"] for e in await events_for(uuid.UUID(envelope_id))]
    for kind in (
        "identity.review_submitted",
        "identity.review_rejected",
        "identity.review_approved",
        "identity.review_notified",
        "signer.verified",
    ):
        assert kind in kinds
    verified = [
        e for e in await events_for(uuid.UUID(envelope_id)) if e["kind"] == "signer.verified"
    ]
    assert verified[-1]["data"]["method"] == "manual"
    assert verified[-1]["data"]["provider_request_id"] == second["id"]


async def test_reviews_are_only_visible_to_their_organisation(client, auth, outbox):
    from backend.orgs.services import create_api_key, create_organisation

    envelope_id, link, _ = await identity_envelope(client, auth, outbox)
    await claim(client, link)
    await upload(client, link)
    review = await pending_review(client, auth, envelope_id)
    other = await create_organisation(f"另一家公司-{uuid.uuid4().hex[:6]}")
    other_auth = {"Authorization": f"Bearer {await create_api_key(other.id)}"}
    listed = await client.get("/api/v1/identity/reviews?status=all", headers=other_auth)
    assert listed.status_code == 200 and listed.json() == []
    assert (await client.get(review["front_url"], headers=other_auth)).status_code == 404
    stolen = await client.post(
        f"/api/v1/identity/reviews/{review['id']}/approve", headers=other_auth
    )
    assert stolen.status_code == 404
    bad_status = await client.get("/api/v1/identity/reviews?status=weird", headers=auth)
    assert bad_status.status_code == 400
