"""The reviewers' queue on the phone: a verifier logs in by SMS, opens a request, decides.

The signer waiting on the manual-review page sees it move on by itself once decided.
"""

from __future__ import annotations

import logging
import re
import uuid

from backend.evidence.services import events_for
from backend.orgs.services import create_api_key, create_organisation
from tests.integration.flows import phone
from tests.integration.test_identity_review import upload, wait_for_text
from tests.unit.identity.support import claim, identity_envelope, photo

HTMX = {"HX-Request": "true"}


async def log_in(client, auth, outbox, roles, name="王审核") -> None:
    """A member of ``auth``'s organisation with ``roles``, logged in on the shared client."""
    mobile = phone()
    added = await client.post(
        "/api/v1/members", json={"name": name, "phone": mobile, "roles": roles}, headers=auth
    )
    assert added.status_code == 201, added.text
    client.cookies.clear()
    sent = await client.post("/app/login/code", data={"phone": mobile})
    assert sent.status_code == 200
    code = re.search(r"登录验证码为(\d{6})", outbox.last(mobile)["text"])
    assert code
    done = await client.post(
        "/app/login", data={"phone": mobile, "code": code.group(1)}, follow_redirects=False
    )
    assert done.status_code == 303


async def waiting_review(client, auth, outbox, front: bytes):
    envelope_id, link, buyer = await identity_envelope(client, auth, outbox)
    await claim(client, link, "E12345678", id_type="passport")
    assert (await upload(client, link, front=front)).status_code == 303
    return envelope_id, link, buyer


def review_id_in(page_text: str, envelope_number: str) -> str:
    rows = re.findall(r'data-review="([0-9a-f-]{36})"(.*?)</li>', page_text, flags=re.S)
    mine = [rid for rid, body in rows if envelope_number in body]
    assert len(mine) == 1, "the request is listed once in the queue"
    return mine[0]


async def test_a_verifier_rejects_then_approves_and_the_signer_moves_on(
    client, auth, outbox, caplog
):
    caplog.set_level(logging.DEBUG)
    front = photo((900, 640), "PNG")
    envelope_id, link, buyer = await waiting_review(client, auth, outbox, front)
    number = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()["number"]
    # The signer's waiting page polls; nothing changes while the review is pending.
    waiting = await client.get(f"{link}/identity/manual")
    assert 'hx-trigger="every 10s"' in waiting.text
    assert (await client.get(f"{link}/identity/manual", headers=HTMX)).status_code == 204

    try:
        await log_in(client, auth, outbox, ["verifier"])
        home = await client.get("/app")
        assert 'data-testid="nav-reviews"' in home.text
        queue = await client.get("/app/reviews")
        assert queue.status_code == 200 and "no-store" in queue.headers["cache-control"]
        assert "15–30 分钟" in queue.text and "E12345678" not in queue.text
        review_id = review_id_in(queue.text, number)
        row = queue.text.split(f'data-review="{review_id}"', 1)[1].split("</li>", 1)[0]
        assert "张三" in row and "E12**5678" in row and "已等待" in row

        detail = await client.get(f"/app/reviews/{review_id}")
        assert detail.status_code == 200 and "no-store" in detail.headers["cache-control"]
        for testid in ("review-approve", "review-reject", "review-reason", "review-front-image"):
            assert f'data-testid="{testid}"' in detail.text
        image = await client.get(f"/app/reviews/{review_id}/images/front")
        assert image.status_code == 200 and image.content == front
        assert image.headers["content-type"].startswith("image/png")
        assert "no-store" in image.headers["cache-control"]
        assert (await client.get(f"/app/reviews/{review_id}/images/back")).status_code == 404

        decision = f"/app/reviews/{review_id}/decision"
        no_reason = await client.post(decision, data={"decision": "reject"}, headers=HTMX)
        assert no_reason.status_code == 422 and "原因" in no_reason.text
        rejected = await client.post(
            decision, data={"decision": "reject", "reason": "手持照片中证件看不清"}, headers=HTMX
        )
        assert rejected.headers["hx-redirect"] == "/app/reviews?done=rejected"
        assert "已驳回" in (await client.get("/app/reviews?done=rejected")).text
        await wait_for_text(outbox, buyer, "未通过人工审核")
        moved = await client.get(f"{link}/identity/manual", headers=HTMX)
        assert moved.headers["hx-redirect"] == f"{link}/identity/manual"
        page = await client.get(f"{link}/identity/manual")
        assert 'data-testid="review-rejected"' in page.text and "证件看不清" in page.text

        assert (await upload(client, link)).status_code == 303
        second = review_id_in((await client.get("/app/reviews")).text, number)
        approved = await client.post(
            f"/app/reviews/{second}/decision", data={"decision": "approve"}, follow_redirects=False
        )
        assert approved.status_code == 303
        assert approved.headers["location"] == "/app/reviews?done=approved"
        await wait_for_text(outbox, buyer, "已通过人工审核")
        moved = await client.get(f"{link}/identity/manual", headers=HTMX)
        assert moved.headers["hx-redirect"] == link
        again = await client.post(f"/app/reviews/{second}/decision", data={"decision": "approve"})
        assert again.status_code == 409 and "已处理" in again.text
    finally:
        client.cookies.clear()

    body = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()
    assert body["signers"][0]["identity_verified"] is True
    events = await events_for(uuid.UUID(envelope_id))
    decided = [e for e in events if e["kind"] == "identity.review_approved"][-1]["data"]
    assert decided["member_name"] == "王审核" and "api_key" not in decided
    verified = [e for e in events if e["kind"] == "signer.verified"][-1]["data"]
    assert verified["method"] == "manual" and "王审核" in verified["reviewer"]
    logged = [r.getMessage() + repr(getattr(r, "fields", {})) for r in caplog.records]
    assert logged and not any("E12345678" in line for line in logged)


async def test_only_verifiers_of_the_same_organisation_see_the_photos(client, auth, outbox):
    envelope_id, _, _ = await waiting_review(client, auth, outbox, photo())
    number = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()["number"]
    try:
        client.cookies.clear()
        anonymous = await client.get("/app/reviews", follow_redirects=False)
        assert anonymous.status_code == 303 and anonymous.headers["location"] == "/app/login"

        await log_in(client, auth, outbox, ["admin"])
        review_id = review_id_in((await client.get("/app/reviews")).text, number)
        photo_url = f"/app/reviews/{review_id}/images/holding"
        assert (await client.get(photo_url)).status_code == 200

        await log_in(client, auth, outbox, ["sender", "reviewer"])
        assert 'data-testid="nav-reviews"' not in (await client.get("/app")).text
        refused = await client.get("/app/reviews")
        assert refused.status_code == 403 and "实名审核人" in refused.text
        assert (await client.get(photo_url)).status_code == 403
        blocked = await client.post(
            f"/app/reviews/{review_id}/decision", data={"decision": "approve"}
        )
        assert blocked.status_code == 403

        other = await create_organisation(f"另一家公司-{uuid.uuid4().hex[:6]}")
        other_auth = {"Authorization": f"Bearer {await create_api_key(other.id)}"}
        await log_in(client, other_auth, outbox, ["verifier"])
        assert number not in (await client.get("/app/reviews")).text
        assert (await client.get(f"/app/reviews/{review_id}")).status_code == 404
        assert (await client.get(photo_url)).status_code == 404
        stolen = await client.post(
            f"/app/reviews/{review_id}/decision", data={"decision": "approve"}
        )
        assert stolen.status_code == 404
    finally:
        client.cookies.clear()
    listed = await client.get("/api/v1/identity/reviews", headers=auth)
    assert [r["status"] for r in listed.json() if r["envelope_id"] == envelope_id] == ["pending"]


async def test_the_reviewer_pages_in_english(client, auth, outbox, monkeypatch):
    from tests.integration import test_english_pages
    from tests.integration.test_english_pages import EN

    async def assert_english(answer, what: str) -> None:
        # Reasons reviewers typed (any test's, listed under "recently decided") are data.
        listed = await client.get("/api/v1/identity/reviews?status=all", headers=auth)
        typed = tuple(r["reason"] for r in listed.json() if r["reason"])
        monkeypatch.setattr(test_english_pages, "DATA", test_english_pages.DATA + typed)
        test_english_pages.assert_english(answer, what)

    envelope_id, _, _ = await waiting_review(client, auth, outbox, photo())
    number = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()["number"]
    try:
        await log_in(client, auth, outbox, ["sender"], name="李经理")
        await assert_english(await client.get("/app/reviews", headers=EN), "403")
        await log_in(client, auth, outbox, ["verifier"], name="李经理")
        queue = await client.get("/app/reviews", headers=EN)
        await assert_english(queue, "queue")
        review_id = review_id_in(queue.text, number)
        decision = f"/app/reviews/{review_id}/decision"
        await assert_english(await client.get(f"/app/reviews/{review_id}", headers=EN), "detail")
        await assert_english(await client.post(decision, data={}, headers=EN), "no choice")
        no_reason = await client.post(decision, data={"decision": "reject"}, headers={**EN, **HTMX})
        assert no_reason.status_code == 422
        await assert_english(no_reason, "no reason")
        await client.post(decision, data={"decision": "approve"}, headers=EN)
        await assert_english(await client.get("/app/reviews?done=approved", headers=EN), "approved")
        await assert_english(await client.get(f"/app/reviews/{review_id}", headers=EN), "decided")
    finally:
        client.cookies.clear()


async def test_a_voided_envelope_leaves_the_queue(client, auth, outbox):
    envelope_id, _, _ = await waiting_review(client, auth, outbox, photo())
    number = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()["number"]
    try:
        await log_in(client, auth, outbox, ["verifier"])
        review_id = review_id_in((await client.get("/app/reviews")).text, number)
        voided = await client.post(
            f"/api/v1/envelopes/{envelope_id}/void", json={"reason": "客户改期"}, headers=auth
        )
        assert voided.status_code == 200, voided.text
        assert number not in (await client.get("/app/reviews")).text
        late = await client.post(f"/app/reviews/{review_id}/decision", data={"decision": "approve"})
        assert late.status_code == 409 and "合同已结束" in late.text
    finally:
        client.cookies.clear()
