"""Mixed order: the lessee and the guarantor sign in parallel, then the lessor."""

from __future__ import annotations

import asyncio

from tests.integration.flows import body
from tests.integration.journey import (
    confirm_code,
    handwriting_data_url,
    handwriting_strokes,
    read_all_pages,
    sign_as,
    wait_for_sms,
)


async def _ready_to_confirm(client, outbox, link: str, phone: str) -> None:
    """Read, confirm the SMS code and draw: everything up to the final tap."""
    await read_all_pages(client, link)
    await confirm_code(client, outbox, link, phone)
    preview = await client.post(
        f"{link}/signature",
        data={"signature_png": handwriting_data_url(), "strokes": handwriting_strokes()},
    )
    assert 'data-testid="sign-confirm"' in preview.text, preview.text


async def test_parallel_pair_then_one_signing_at_the_same_moment(client, auth, outbox):
    payload, phones = body("lease-guarantee")
    created = await client.post("/api/v1/envelopes", json=payload, headers=auth)
    assert created.status_code == 201, created.text
    envelope_id = created.json()["id"]
    orders = {s["role"]: s["order"] for s in created.json()["signers"]}
    assert orders == {"lessee": 1, "guarantor": 1, "lessor": 2}

    # Both of the first group are invited at once; the lessor waits.
    await wait_for_sms(outbox, phones["lessee"])
    await wait_for_sms(outbox, phones["guarantor"])
    assert not outbox.messages(phones["lessor"])
    links = {r: outbox.link_for(phones[r]) for r in ("lessee", "guarantor")}
    for role, link in links.items():
        await _ready_to_confirm(client, outbox, link, phones[role])

    # Both tap "sign" at the same moment: neither is told the document changed.
    results = await asyncio.gather(
        *(client.post(f"{link}/confirm", follow_redirects=False) for link in links.values())
    )
    assert [r.status_code for r in results] == [303, 303], [r.text for r in results]

    shown = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()
    statuses = {s["role"]: s["status"] for s in shown["signers"]}
    assert statuses["lessee"] == statuses["guarantor"] == "signed"
    assert statuses["lessor"] in ("waiting", "notified")
    await wait_for_sms(outbox, phones["lessor"])
    assert len([m for m in outbox.messages(phones["lessor"]) if "/s/" in m["text"]]) == 1
    await sign_as(client, outbox, outbox.link_for(phones["lessor"]), phones["lessor"])
    shown = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()
    assert shown["status"] == "completed"

    pdf = (await client.get(f"/api/v1/envelopes/{envelope_id}/pdf", headers=auth)).content
    assert pdf.count(b"/ByteRange") >= 3  # three signatures, none lost in the race


async def test_explicit_orders_override_the_template(client, auth, outbox):
    payload, phones = body("lease-guarantee", lessee=1, guarantor=2, lessor=3)
    created = await client.post("/api/v1/envelopes", json=payload, headers=auth)
    assert created.status_code == 201, created.text
    await wait_for_sms(outbox, phones["lessee"])
    await asyncio.sleep(0.3)
    assert not outbox.messages(phones["guarantor"])


async def test_orders_given_for_some_signers_only_are_refused(client, auth):
    payload, _ = body("lease-guarantee", lessee=1)
    refused = await client.post("/api/v1/envelopes", json=payload, headers=auth)
    assert refused.status_code == 400
    assert any(f["path"] == "signers" for f in refused.json()["error"]["fields"])
