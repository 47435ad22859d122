"""POST /api/v1/verify and the /verify page: a completed envelope, tampering, bad input."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.journey import car_purchase_body, fresh_phones, sign_as, wait_for_sms

BUYER, DEALER = fresh_phones()


@pytest.fixture(scope="module")
async def signed_pdf(client: Any, api_key: str, outbox: Any) -> bytes:
    auth = {"Authorization": f"Bearer {api_key}"}
    created = await client.post(
        "/api/v1/envelopes", json=car_purchase_body(BUYER, DEALER), headers=auth
    )
    assert created.status_code == 201, created.text
    envelope = created.json()
    await wait_for_sms(outbox, BUYER)
    await sign_as(client, outbox, outbox.link_for(BUYER), BUYER)
    await wait_for_sms(outbox, DEALER)
    await sign_as(client, outbox, outbox.link_for(DEALER), DEALER)
    pdf = await client.get(f"/api/v1/envelopes/{envelope['id']}/pdf", headers=auth)
    assert pdf.status_code == 200
    return bytes(pdf.content)


async def test_api_reports_each_signature(client: Any, signed_pdf: bytes) -> None:
    # Public, like the page: no API key.
    reply = await client.post(
        "/api/v1/verify", content=signed_pdf, headers={"Content-Type": "application/pdf"}
    )

    assert reply.status_code == 200, reply.text
    report = reply.json()
    assert report["status"] == "ok"
    assert report["level"] in ("B-T", "B-LT", "B-LTA")
    buyer, dealer = report["signatures"][:2]
    assert buyer["signer_name"] == "张三" and dealer["signer_name"] == "李经理"
    for s in (buyer, dealer):
        assert s["trusted"] and s["intact"] and s["changes_allowed"]
        assert s["timestamp_time"]
    assert buyer["certified"] and buyer["modified_after"]


async def test_api_accepts_multipart(client: Any, signed_pdf: bytes) -> None:
    reply = await client.post(
        "/api/v1/verify", files={"file": ("contract.pdf", signed_pdf, "application/pdf")}
    )
    assert reply.status_code == 200 and reply.json()["status"] == "ok"


async def test_api_detects_a_tampered_byte(client: Any, signed_pdf: bytes) -> None:
    position = signed_pdf.index(b"stream", 200)  # a content stream of the first revision
    data = bytearray(signed_pdf)
    data[position + 20] ^= 0x01
    reply = await client.post(
        "/api/v1/verify", content=bytes(data), headers={"Content-Type": "application/pdf"}
    )
    assert reply.status_code == 200
    report = reply.json()
    assert report["status"] == "error"
    assert not all(s["intact"] for s in report["signatures"])


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"", 400, "no_file"),
        (b"hello, not a pdf", 422, "invalid_pdf"),
        (b"%PDF-1.7\n" + b"\x00broken" * 50, 422, "invalid_pdf"),
    ],
)
async def test_api_bad_input_is_a_clear_error(
    client: Any, body: bytes, status: int, code: str
) -> None:
    reply = await client.post(
        "/api/v1/verify", content=body, headers={"Content-Type": "application/pdf"}
    )
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert error["code"] == code and error["message"]


async def test_api_refuses_oversize(client: Any) -> None:
    from backend.config import get_settings

    limit = get_settings().verify_max_bytes
    reply = await client.post(
        "/api/v1/verify",
        content=b"%PDF-1.7\n" + b"0" * (limit + 70 * 1024),
        headers={"Content-Type": "application/pdf"},
    )
    assert reply.status_code == 413
    assert reply.json()["error"]["code"] == "too_large"


async def test_page_shows_chinese_result_cards(client: Any, signed_pdf: bytes) -> None:
    page = await client.get("/verify")
    assert page.status_code == 200 and 'data-testid="verify-form"' in page.text

    full = await client.post(
        "/verify", files={"file": ("contract.pdf", signed_pdf, "application/pdf")}
    )
    fragment = await client.post(
        "/verify",
        files={"file": ("contract.pdf", signed_pdf, "application/pdf")},
        headers={"HX-Request": "true"},
    )

    assert full.status_code == 200 and "<html" in full.text
    assert fragment.status_code == 200 and "<html" not in fragment.text
    for html in (full.text, fragment.text):
        assert html.count('data-testid="verify-signature"') >= 2
        assert "张三" in html and "李经理" in html and "可信" in html and "完整" in html


async def test_page_shows_errors_without_failing(client: Any) -> None:
    reply = await client.post(
        "/verify",
        files={"file": ("note.txt", b"just text", "text/plain")},
        headers={"HX-Request": "true"},
    )
    assert reply.status_code == 200
    assert 'data-testid="verify-error"' in reply.text and "不是 PDF" in reply.text
