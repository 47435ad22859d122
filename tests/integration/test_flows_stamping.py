"""The internal stamping step: the dealer signs, the contract office stamps 合同专用章 last."""

from __future__ import annotations

import asyncio
import json
import re

from tests.integration.flows import body, form_for_test_drive, phone
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


async def test_the_phone_form_adds_the_contract_office_stamp_as_the_last_step(client, auth, outbox):
    await _logged_in(client, auth, outbox, roles=("sender", "stamper"))
    form = await client.get("/app/new/test-drive")
    assert 'data-testid="stamp-role"' in form.text and '<option value="dealer"' in form.text
    customer = phone()
    fields = form_for_test_drive(customer, dealer="")
    del fields["signer.dealer.name"], fields["signer.dealer.phone"]
    fields["stamp_role"] = "dealer"  # no name or phone for the dealer: the organisation stamps
    made = await client.post("/app/new/test-drive", data=fields, follow_redirects=False)
    assert made.status_code == 303, made.text
    envelope_id = made.headers["location"].rsplit("/", 1)[1]
    shown = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()
    roles = {s["role"]: s for s in shown["signers"]}
    assert roles["dealer"]["intent"] == "stamp"
    assert roles["dealer"]["name"] == "演示汽车销售服务有限公司"
    assert roles["dealer"]["order"] > roles["customer"]["order"]

    waiting = await client.get("/app/stamps")
    assert f'value="{envelope_id}"' not in waiting.text  # the customer signs first
    await wait_for_sms(outbox, customer)
    await sign_as(client, outbox, outbox.link_for(customer), customer)
    for _ in range(50):
        queue = await client.get("/app/stamps")
        if f'value="{envelope_id}"' in queue.text:
            break
        await asyncio.sleep(0.1)
    assert f'value="{envelope_id}"' in queue.text


async def test_a_stamping_step_that_cannot_come_last_is_refused_on_the_form(client, auth, outbox):
    from backend import documents

    await _logged_in(client, auth, outbox)
    waybill = documents.get_template("waybill")
    assert waybill is not None
    fields: dict[str, str] = {}
    for spec in waybill.fields:  # the template's own example, typed in as a person would
        example = spec.example
        if isinstance(example, list):
            example = "\n".join(",".join(str(row[i.path]) for i in spec.items) for row in example)
        fields[spec.path] = str(example)
    for role in ("shipper", "carrier", "dealer"):
        fields[f"signer.{role}.name"], fields[f"signer.{role}.phone"] = "张三", phone()
    form = await client.get("/app/new/waybill")
    assert '<option value="carrier"' in form.text
    # the carrier's signature means "in transit": stamped last it would follow the receipt
    refused = await client.post("/app/new/waybill", data={**fields, "stamp_role": "carrier"})
    assert refused.status_code == 400
    assert "签署顺序无法完成" in refused.text
    made = await client.post(
        "/app/new/waybill", data={**fields, "stamp_role": "shipper"}, follow_redirects=False
    )
    assert made.status_code == 303, made.text


async def test_a_seal_name_or_holder_that_cannot_be_used_is_refused_by_field(client, auth):
    """A NUL, a lone surrogate or a holder that is no member id: 400 naming the field,
    never a 5xx from the database."""
    answers = [
        await client.post(
            "/api/v1/seals",
            content=json.dumps(body),  # \uXXXX escapes, as a JSON client sends them
            headers={**auth, "Content-Type": "application/json"},
        )
        for body in (
            {"name": "合同\u0000专用章"},
            {"name": "合同\ud933专用章"},
            {"name": "合同专用章", "holders": ["", "nobody"]},
        )
    ]
    assert [a.status_code for a in answers] == [400, 400, 400], [a.text for a in answers]
    fields = [[f["path"] for f in a.json()["error"]["fields"]] for a in answers]
    # a lone surrogate is not valid JSON text: the body is refused before the name is read
    assert fields == [["name"], ["body"], ["holders[0]", "holders[1]"]]
