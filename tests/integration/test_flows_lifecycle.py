"""Decline, void, expiry and reminders: how an envelope ends early, and the nudges before."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from backend.database import utcnow
from backend.envelopes import lifecycle
from backend.envelopes.tables import Envelope, Signer
from backend.evidence.services import events_for
from backend.jobs.tables import Job
from tests.integration.flows import body, signer_id
from tests.integration.journey import sign_as, wait_for_sms


async def _created(client, auth, outbox, template="test-drive"):
    payload, phones = body(template)
    created = await client.post("/api/v1/envelopes", json=payload, headers=auth)
    assert created.status_code == 201, created.text
    first = created.json()["signers"][0]["role"]
    await wait_for_sms(outbox, phones[first])
    return created.json()["id"], phones


async def _kinds(envelope_id: str) -> list[str]:
    return [e["kind"] for e in await events_for(uuid.UUID(envelope_id))]


async def _wait_for_text(outbox, phone: str, needle: str, timeout: float = 10) -> str:
    for _ in range(int(timeout / 0.05)):
        found = [m["text"] for m in outbox.messages(phone) if needle in m["text"]]
        if found:
            return found[-1]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no SMS with {needle!r} to {phone}")


async def test_decline_with_a_reason_ends_it_and_tells_the_others(client, auth, outbox):
    envelope_id, phones = await _created(client, auth, outbox, "lease-guarantee")
    await wait_for_sms(outbox, phones["guarantor"])
    link = outbox.link_for(phones["guarantor"])
    page = await client.get(link)
    assert 'data-testid="decline-start"' in page.text

    form = await client.get(f"{link}/decline")
    assert 'data-testid="decline-reason"' in form.text
    empty = await client.post(f"{link}/decline", data={"reason": " "})
    assert empty.status_code == 400 and 'data-testid="decline-error"' in empty.text
    assert (await Envelope.select(Envelope.status).where(
        Envelope.id == uuid.UUID(envelope_id)
    ).first())["status"] == "sent"  # fmt: skip

    done = await client.post(
        f"{link}/decline", data={"reason": "担保金额与口头约定不符"}, follow_redirects=False
    )
    assert done.status_code == 303
    shown = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()
    assert shown["status"] == "declined"
    assert shown["status_reason"] == "担保金额与口头约定不符"
    guarantor = next(s for s in shown["signers"] if s["role"] == "guarantor")
    assert guarantor["status"] == "declined" and guarantor["declined_at"]

    page = await client.get(link)
    assert 'data-testid="envelope-declined"' in page.text
    assert "担保金额与口头约定不符" in page.text
    # The lessee, invited at the same time, learns it is over; the lessor never heard of it.
    text = await _wait_for_text(outbox, phones["lessee"], "拒签")
    assert "赵师傅（保证人）" in text
    assert not outbox.messages(phones["lessor"])
    # Nobody can sign any more.
    lessee_link = outbox.link_for(phones["lessee"])
    otp = await client.post(f"{lessee_link}/otp", headers={"HX-Request": "true"})
    assert otp.status_code == 409
    events = await events_for(uuid.UUID(envelope_id))
    declined = [e for e in events if e["kind"] == "signer.declined"]
    assert declined and declined[0]["data"]["reason"] == "担保金额与口头约定不符"


async def test_void_by_the_sender_kills_every_link(client, auth, outbox):
    envelope_id, phones = await _created(client, auth, outbox)
    link = outbox.link_for(phones["customer"])
    no_reason = await client.post(f"/api/v1/envelopes/{envelope_id}/void", json={"reason": ""},
                                  headers=auth)  # fmt: skip
    assert no_reason.status_code == 400
    voided = await client.post(
        f"/api/v1/envelopes/{envelope_id}/void", json={"reason": "客户改约下周试驾"}, headers=auth
    )
    assert voided.status_code == 200, voided.text
    assert voided.json()["status"] == "voided"
    assert voided.json()["status_reason"] == "客户改约下周试驾"
    dead = await client.get(link)
    assert dead.status_code == 404 and "链接无效或已过期" in dead.text
    await _wait_for_text(outbox, phones["customer"], "已撤销")
    again = await client.post(
        f"/api/v1/envelopes/{envelope_id}/void", json={"reason": "再次撤销"}, headers=auth
    )
    assert again.status_code == 409
    assert "envelope.voided" in await _kinds(envelope_id)


async def test_expiry_marks_the_envelope_and_records_it_once(client, auth, outbox):
    envelope_id, phones = await _created(client, auth, outbox)
    the_id = uuid.UUID(envelope_id)
    deadline_jobs = await Job.select(Job.run_at).where(Job.kind == lifecycle.EXPIRE_JOB)
    assert deadline_jobs  # scheduled at sending
    await Envelope.update({Envelope.expires_at: utcnow() - timedelta(minutes=1)}).where(
        Envelope.id == the_id
    )
    assert await lifecycle.expire_due() >= 1
    assert await lifecycle.expire(the_id) is False  # once only
    shown = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()
    assert shown["status"] == "expired"
    assert (await _kinds(envelope_id)).count("envelope.expired") == 1
    dead = await client.get(outbox.link_for(phones["customer"]))
    assert dead.status_code == 404
    listed = await client.get("/api/v1/envelopes?status=expired&limit=100", headers=auth)
    assert envelope_id in [e["id"] for e in listed.json()["items"]]


async def test_expiry_on_access_when_the_job_has_not_run(client, auth, outbox):
    envelope_id, _ = await _created(client, auth, outbox)
    await Envelope.update({Envelope.expires_at: utcnow() - timedelta(seconds=1)}).where(
        Envelope.id == uuid.UUID(envelope_id)
    )
    shown = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()
    assert shown["status"] == "expired"
    assert "envelope.expired" in await _kinds(envelope_id)


async def test_automatic_reminder_before_the_deadline(client, auth, outbox):
    _, phones = await _created(client, auth, outbox)
    reminder = (
        await Job.objects()
        .where((Job.kind == lifecycle.REMIND_JOB) & (Job.status == "pending"))
        .order_by(Job.created_at, ascending=False)
        .first()
    )
    assert reminder is not None
    assert reminder.run_at > utcnow() + timedelta(days=5)  # 7-day deadline, 24 h before
    await Job.update({Job.run_at: utcnow()}).where(Job.id == reminder.id)
    from backend.jobs.services import wake_worker

    wake_worker()
    text = await _wait_for_text(outbox, phones["customer"], "提醒")
    assert "/s/" in text and "截止" in text
    assert not [m for m in outbox.messages(phones["dealer"]) if "提醒" in m["text"]]


async def test_manual_remind_waits_out_the_cooldown(client, auth, outbox):
    envelope_id, phones = await _created(client, auth, outbox)
    customer = await signer_id(envelope_id, "customer")
    dealer = await signer_id(envelope_id, "dealer")
    url = f"/api/v1/envelopes/{envelope_id}/signers/{customer}/remind"
    too_soon = await client.post(url, headers=auth)
    assert too_soon.status_code == 429  # the invitation just went out
    await Signer.update({Signer.notified_at: utcnow() - timedelta(hours=2)}).where(
        Signer.id == uuid.UUID(customer)
    )
    sent = await client.post(url, headers=auth)
    assert sent.status_code == 202, sent.text
    await _wait_for_text(outbox, phones["customer"], "提醒")
    assert (await client.post(url, headers=auth)).status_code == 429
    not_yet = await client.post(
        f"/api/v1/envelopes/{envelope_id}/signers/{dealer}/remind", headers=auth
    )
    assert not_yet.status_code == 409  # the dealer's turn has not come


async def test_signed_signer_cannot_decline(client, auth, outbox):
    _, phones = await _created(client, auth, outbox)
    link = outbox.link_for(phones["customer"])
    await sign_as(client, outbox, link, phones["customer"])
    refused = await client.post(f"{link}/decline", data={"reason": "改变主意了"})
    assert refused.status_code == 409
