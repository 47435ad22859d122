"""The dealer's phone pages: log in by SMS code, create from a template, share, follow up."""

from __future__ import annotations

import io
import re

from tests.integration.flows import form_for_test_drive, phone
from tests.integration.journey import wait_for_sms


async def _logged_in(client, auth, outbox, roles=("sender",)) -> str:
    mobile = phone()
    added = await client.post(
        "/api/v1/members", json={"name": "李经理", "phone": mobile, "roles": list(roles)},
        headers=auth,
    )  # fmt: skip
    assert added.status_code == 201, added.text
    assert added.json()["phone"] != mobile  # masked
    sent = await client.post("/app/login/code", data={"phone": mobile})
    assert sent.status_code == 200 and 'data-testid="login-code"' in sent.text
    code = re.search(r"登录验证码为(\d{6})", outbox.last(mobile)["text"])
    assert code
    wrong = await client.post("/app/login", data={"phone": mobile, "code": "000000"})
    assert wrong.status_code == 400 and 'data-testid="login-error"' in wrong.text
    ok = await client.post(
        "/app/login", data={"phone": mobile, "code": code.group(1)}, follow_redirects=False
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/app"
    return mobile


async def test_a_stranger_gets_no_code_and_no_pages(client, outbox):
    stranger = phone()
    sent = await client.post("/app/login/code", data={"phone": stranger})
    assert sent.status_code == 200  # the same answer as for a member
    assert not outbox.messages(stranger)
    client.cookies.clear()
    page = await client.get("/app", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/app/login"


async def test_create_share_remind_export_and_void_on_a_phone(client, auth, outbox):
    await _logged_in(client, auth, outbox)
    picker = await client.get("/app/new")
    assert 'data-testid="template-test-drive"' in picker.text
    form = await client.get("/app/new/test-drive")
    assert 'name="customer.licence_number"' in form.text
    assert 'name="signer.customer.phone"' in form.text
    assert 'value="演示汽车销售服务有限公司"' in form.text  # the dealer's own name, prefilled

    customer, dealer = phone(), phone()
    fields = form_for_test_drive(customer, dealer)
    broken = {**fields, "customer.licence_number": "123", "signer.dealer.phone": "1"}
    bad = await client.post("/app/new/test-drive", data=broken)
    assert bad.status_code == 400
    assert 'data-testid="error-customer.licence_number"' in bad.text
    assert 'data-testid="error-signer.dealer.phone"' in bad.text
    assert 'value="王芳"' in bad.text  # what was typed stays

    made = await client.post("/app/new/test-drive", data=fields, follow_redirects=False)
    assert made.status_code == 303, made.text
    detail_url = made.headers["location"]
    await wait_for_sms(outbox, customer)
    detail = await client.get(detail_url)
    assert 'data-testid="envelope-status"' in detail.text and "签署中" in detail.text
    assert 'data-testid="qr-customer"' in detail.text and "<svg" in detail.text
    share = re.search(r'value="(http[^"]+/p/[A-Za-z0-9_-]+)"', detail.text)
    assert share and 'data-testid="share-url-customer"' in detail.text
    share_path = share.group(1).split("8000", 1)[1]

    card = await client.get(share_path)
    assert card.status_code == 200
    assert 'property="og:title" content="《车辆试乘试驾协议》待王芳签署"' in card.text
    assert 'property="og:image"' in card.text and 'property="og:description"' in card.text
    thumb = await client.get(f"{share_path}/thumb.jpg")
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
    from PIL import Image

    with Image.open(io.BytesIO(thumb.content)) as picture:
        assert picture.size == (300, 300)  # chat apps show a square: the top of page 1
    assert "<title>《车辆试乘试驾协议》待王芳签署" in card.text
    assert 'href="/s/' in card.text

    # The list: filter and search; CSV export.
    listed = await client.get("/app?status=sent&q=王芳")
    assert detail_url in listed.text
    none = await client.get("/app?status=completed&q=王芳")
    assert detail_url not in none.text
    csv_text = (await client.get("/app/export.csv?q=王芳")).text
    assert "车辆试乘试驾协议" in csv_text and "签署中" in csv_text

    envelope_id = detail_url.rsplit("/", 1)[1]
    shown = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()
    customer_id = next(s["id"] for s in shown["signers"] if s["role"] == "customer")
    reminded = await client.post(f"/app/envelopes/{envelope_id}/remind/{customer_id}")
    assert 'data-testid="remind-error"' in reminded.text  # the invitation just went out

    pdf = await client.get(f"/app/envelopes/{envelope_id}/pdf")
    assert pdf.content[:5] == b"%PDF-"
    voided = await client.post(f"/app/envelopes/{envelope_id}/void", data={"reason": "客户改期"})
    assert "已撤销" in voided.text
    assert (await client.get(share_path)).status_code == 404


async def test_a_reviewer_cannot_send(client, auth, outbox):
    await _logged_in(client, auth, outbox, roles=("reviewer",))
    refused = await client.post("/app/new/test-drive", data={})
    assert refused.status_code == 403
