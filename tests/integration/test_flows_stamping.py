"""The internal stamping step: the dealer signs, the contract office stamps 合同专用章 last."""

from __future__ import annotations

import asyncio
import re

from tests.integration.flows import body
from tests.integration.journey import sign_as, wait_for_sms
from tests.integration.test_flows_dealer import _logged_in


async def _dealer_signed_agreement(client, auth, outbox) -> str:
    payload, phones = body("dealer-agreement")
    payload["signers"] = [
        {"role": "dealer", "name": "陈建国", "phone": phones["dealer"]},
        {"role": "manufacturer", "name": "示例汽车销售有限公司", "stamp": True},
    ]
    created = await client.post("/api/v1/envelopes", json=payload, headers=auth)
    assert created.status_code == 201, created.text
    await wait_for_sms(outbox, phones["dealer"])
    await sign_as(client, outbox, outbox.link_for(phones["dealer"]), phones["dealer"])
    return created.json()["id"]


async def test_one_code_stamps_every_chosen_document(client, auth, outbox):
    seal = await client.post("/api/v1/seals", json={"name": "合同专用章"}, headers=auth)
    assert seal.status_code == 201, seal.text
    assert seal.json()["image"].startswith("data:image/png;base64,")
    seal_id = seal.json()["id"]

    envelope_ids = [await _dealer_signed_agreement(client, auth, outbox) for _ in range(3)]
    for envelope_id in envelope_ids:
        shown = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()
        assert shown["status"] == "sent"  # waiting for the seal; nobody got an SMS for it

    stamper = await _logged_in(client, auth, outbox, roles=("stamper",))
    page = await client.get("/app/stamps")
    for envelope_id in envelope_ids:
        assert f'value="{envelope_id}"' in page.text
    form = {"seal": seal_id, "envelope": envelope_ids}
    asked = await client.post("/app/stamps/code", data=form)
    assert 'data-testid="stamp-code"' in asked.text
    text = outbox.last(stamper)["text"]
    assert "3份合同" in text
    code = re.search(r"验证码(\d{6})", text)
    assert code

    wrong = await client.post("/app/stamps", data={**form, "code": "000000"})
    assert 'data-testid="stamp-error"' in wrong.text
    done = await client.post("/app/stamps", data={**form, "code": code.group(1)})
    assert 'data-testid="stamp-result"' in done.text and "已盖章 3 份" in done.text

    for envelope_id in envelope_ids:
        for _ in range(50):
            shown = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()
            if shown["status"] == "completed":
                break
            await asyncio.sleep(0.05)
        assert shown["status"] == "completed"
        pdf = (await client.get(f"/api/v1/envelopes/{envelope_id}/pdf", headers=auth)).content
        assert pdf.count(b"/ByteRange") >= 2
    again = await client.get("/app/stamps")
    assert 'data-testid="no-stamps"' in again.text


async def test_a_sender_without_the_stamper_role_sees_no_seal(client, auth, outbox):
    await _logged_in(client, auth, outbox, roles=("sender",))
    page = await client.get("/app/stamps")
    assert "用印人" in page.text
    refused = await client.post("/app/stamps/code", data={"envelope": "x"})
    assert refused.status_code == 403
