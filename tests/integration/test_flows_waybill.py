"""The waybill: shipper → carrier (运输中) → receiving dealer (已签收), end to end over HTTP."""

from __future__ import annotations

import uuid

from backend.evidence.services import events_for
from tests.integration.flows import body
from tests.integration.journey import sign_as, wait_for_sms


async def test_waybill_milestones_in_api_pages_and_audit(client, auth, outbox):
    payload, phones = body("waybill")
    created = await client.post("/api/v1/envelopes", json=payload, headers=auth)
    assert created.status_code == 201, created.text
    envelope = created.json()
    assert envelope["milestone"] is None and envelope["milestones"] == []
    by_role = {s["role"]: s for s in envelope["signers"]}
    assert [by_role[r]["order"] for r in ("shipper", "carrier", "dealer")] == [1, 2, 3]
    assert by_role["carrier"]["milestone"] == "in_transit"
    assert by_role["dealer"]["milestone"] == "received"

    await wait_for_sms(outbox, phones["shipper"])
    assert not outbox.messages(phones["carrier"])  # strictly one step after the other
    await sign_as(client, outbox, outbox.link_for(phones["shipper"]), phones["shipper"])

    await wait_for_sms(outbox, phones["carrier"])
    await sign_as(client, outbox, outbox.link_for(phones["carrier"]), phones["carrier"])
    shown = (await client.get(f"/api/v1/envelopes/{envelope['id']}", headers=auth)).json()
    assert shown["status"] == "sent"
    assert shown["milestone"] == "in_transit"
    assert [(m["key"], m["label"], m["role"]) for m in shown["milestones"]] == [
        ("in_transit", "运输中", "carrier")
    ]

    # The receiving dealer's page shows the shipment is on its way.
    await wait_for_sms(outbox, phones["dealer"])
    dealer_link = outbox.link_for(phones["dealer"])
    page = await client.get(dealer_link)
    assert 'data-milestone="in_transit"' in page.text and "运输中" in page.text

    await sign_as(client, outbox, dealer_link, phones["dealer"])
    done = await client.get(f"{dealer_link}/done")
    assert 'data-milestone="received"' in done.text and "已签收" in done.text
    shown = (await client.get(f"/api/v1/envelopes/{envelope['id']}", headers=auth)).json()
    assert shown["status"] == "completed"
    assert shown["milestone"] == "received"
    assert [m["key"] for m in shown["milestones"]] == ["in_transit", "received"]
    assert shown["milestones"][0]["at"] <= shown["milestones"][1]["at"]

    events = await events_for(uuid.UUID(envelope["id"]))
    milestones = [e for e in events if e["kind"] == "envelope.milestone"]
    assert [(e["actor"], e["data"]["milestone"]) for e in milestones] == [
        ("carrier", "in_transit"),
        ("dealer", "received"),
    ]
    # each milestone is recorded right after the signature that caused it
    kinds = [e["kind"] for e in events]
    for e in milestones:
        assert kinds[e["seq"] - 2] == "signer.signed"


async def test_receipt_before_pick_up_is_an_order_that_cannot_complete(client, auth):
    payload, _ = body("waybill", shipper=1, carrier=3, dealer=2)
    refused = await client.post("/api/v1/envelopes", json=payload, headers=auth)
    assert refused.status_code == 400
    problems = refused.json()["error"]["fields"]
    assert problems[0]["path"] == "signers"
    assert "必须在承运方" in problems[0]["message"]
