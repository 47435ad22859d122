"""Steps of the signer's journey over HTTP, shared by the journey and bad-input tests."""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
from datetime import date, timedelta
from typing import Any

from PIL import Image, ImageDraw

from tests.unit.handwriting.handwriting_data import as_json, write_name

BUYER_PHONE = "13800138000"
DEALER_PHONE = "13900139000"


# The outbox finds a signing link by phone number, so every test file hands out numbers
# from a range of its own (two files sharing 1350000 2000+ once made a webhook test open
# another test's link): here 1350000/1350001 0001–1999; webhooks 1350000/1340000
# 2000–2999; face step 1350000/1340000 3000+; handwriting pad 1580000/1580001; flows
# 1590000; identity 1570000/1560000; bad input 1370000/1360000; API contract 1330000/1320000.
# car_purchase_body()'s defaults (BUYER_PHONE, DEALER_PHONE) belong to test_journey alone:
# a test that creates an envelope passes numbers of its own range.
_phone_numbers = itertools.count(1)


def fresh_phones() -> tuple[str, str]:
    """Two mobile numbers no other test in this run uses, so outbox look-ups never mix."""
    n = next(_phone_numbers)
    return f"1350000{n:04d}", f"1350001{n:04d}"


def car_purchase_body(
    buyer_phone: str = BUYER_PHONE, dealer_phone: str = DEALER_PHONE
) -> dict[str, Any]:
    return {
        "template": "car-purchase",
        "data": {
            "buyer": {
                "name": "张三",
                "id_number": "11010519491231002X",
                "phone": buyer_phone,
                "address": "北京市朝阳区建国路88号",
            },
            "vehicle": {
                "model": "比亚迪 汉 EV 2026款 冠军版",
                "vin": "LGXCE6CD9R0123456",
                "colour": "星际灰",
            },
            "price": 189800,
            "deposit": 5000,
            "delivery_date": (date.today() + timedelta(days=14)).isoformat(),
            "dealer": {"name": "演示汽车销售服务有限公司", "address": "北京市朝阳区望京街10号"},
        },
        "signers": [
            {"role": "buyer", "name": "张三", "phone": buyer_phone},
            {"role": "dealer", "name": "李经理", "phone": dealer_phone},
        ],
    }


def handwriting_data_url(strokes: int = 6) -> str:
    """The pad's preview picture: several strokes of dark ink on a transparent background.

    The server ignores it (it renders the signature from `strokes`); the pad still sends it."""
    im = Image.new("RGBA", (600, 260), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    for i in range(strokes):
        x = 60 + i * 80
        draw.line(
            [(x, 60), (x + 50, 120), (x + 10, 200), (x + 70, 210)], fill=(17, 17, 17, 255), width=9
        )
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def handwriting_strokes(name: str = "李经理", **options: Any) -> str:
    """The pad's `strokes` field: `name` written with a simulated finger (x, y, t, pressure)."""
    return as_json(write_name(name, **options))


async def wait_for_sms(outbox: Any, to: str, count: int = 1, timeout: float = 15) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len([m for m in outbox.messages(to) if "/s/" in m["text"]]) < count:
        assert loop.time() < deadline, f"no signing SMS to {to} within {timeout}s"
        await asyncio.sleep(0.05)


async def unlock_batch(client: Any, outbox: Any, link: str, phone: str) -> None:
    """Prove the phone with an SMS code, so that this link's batch list shows."""
    before = len(outbox.messages(phone))
    sent = await client.post(f"{link}/batch/access/otp")
    assert sent.status_code == 200 and 'data-testid="batch-access-sent"' in sent.text, sent.text
    assert len(outbox.messages(phone)) == before + 1
    unlocked = await client.post(
        f"{link}/batch/access", data={"code": outbox.code_for(phone)}, follow_redirects=False
    )
    assert unlocked.status_code == 303, unlocked.text


async def new_envelope(
    client: Any, auth: Any, outbox: Any, phones: Any = fresh_phones
) -> tuple[str, str, str, str]:
    """A car purchase sent through the API; (envelope id, buyer's link, buyer, dealer)."""
    buyer, dealer = phones()
    created = await client.post(
        "/api/v1/envelopes", json=car_purchase_body(buyer, dealer), headers=auth
    )
    assert created.status_code == 201, created.text
    await wait_for_sms(outbox, buyer)
    return created.json()["id"], outbox.link_for(buyer), buyer, dealer


async def read_all_pages(client: Any, link: str) -> None:
    page = await client.get(link)
    assert page.status_code == 200, page.text
    count = page.text.count('data-testid="doc-page"')
    assert count >= 1  # a one-page waybill too
    for i in range(count):
        img = await client.get(f"{link}/pages/{i}")
        assert img.status_code == 200
        assert img.headers["content-type"] == "image/webp"


async def confirm_code(client: Any, outbox: Any, link: str, phone: str) -> None:
    sent = await client.post(f"{link}/otp", headers={"HX-Request": "true"})
    assert sent.status_code == 200, sent.text
    assert 'data-testid="otp-input"' in sent.text
    code = outbox.code_for(phone)
    ok = await client.post(f"{link}/otp/verify", data={"code": code}, follow_redirects=False)
    assert ok.status_code == 303, ok.text
    assert ok.headers["location"] == f"{link}/sign"


async def sign_as(client: Any, outbox: Any, link: str, phone: str) -> None:
    """The whole journey of one signer after their SMS link arrived."""
    await read_all_pages(client, link)
    await confirm_code(client, outbox, link, phone)
    pad = await client.get(f"{link}/sign")
    assert 'data-testid="signature-pad"' in pad.text
    preview = await client.post(
        f"{link}/signature",
        data={"signature_png": handwriting_data_url(), "strokes": handwriting_strokes()},
    )
    assert preview.status_code == 200, preview.text
    assert 'data-testid="sign-confirm"' in preview.text
    done = await client.post(f"{link}/confirm", follow_redirects=False)
    assert done.status_code == 303, done.text
    page = await client.get(f"{link}/done")
    assert 'data-testid="download-signed"' in page.text
