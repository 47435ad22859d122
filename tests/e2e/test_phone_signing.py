"""The car purchase, signed by the buyer and then the dealer, on emulated phones in Chromium."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from tests.e2e.phone import (
    Phone,
    field_box,
    ink_pixels,
    phone_profiles,
    purchase_body,
    sign_on_phone,
)

pytestmark = pytest.mark.e2e


def _root(server: Any) -> x509.Certificate:
    with server.api() as api:
        pem = api.get("/pki/root.pem")
    assert pem.status_code == 200
    return x509.load_pem_x509_certificate(pem.content)


@pytest.mark.parametrize("profile", ["android", "iphone", "wechat"])
def test_buyer_then_dealer_sign_on_a_phone(
    profile: str, server: Any, browser: Any, playwright: Any, screenshots: Path, tmp_path: Path
) -> None:
    from backend import signing

    options = phone_profiles(playwright)[profile]
    body, buyer, dealer = purchase_body()
    with server.api() as api:
        created = api.post("/api/v1/envelopes", json=body)
        assert created.status_code == 201, created.text
        envelope_id = created.json()["id"]
        unsigned = api.get(f"/api/v1/envelopes/{envelope_id}/pdf").content
    root = _root(server)

    # The buyer, from the SMS link on their phone.
    context = browser.new_context(**options)
    try:
        phone = Phone(context.new_page(), profile, screenshots)
        buyer_pdf = sign_on_phone(phone, server.wait_for_link(buyer), server, buyer, "buyer")
    finally:
        context.close()
    assert buyer_pdf.startswith(b"%PDF")
    report = signing.validate_pdf(buyer_pdf, [root])
    assert [s.signer_name for s in report.signatures] == ["张三"], report
    assert report.all_valid, report
    buyer_field = report.signatures[0].field_name

    # The dealer is notified only now, and signs the same way on their own phone.
    context = browser.new_context(**options)
    try:
        phone = Phone(context.new_page(), profile, screenshots, seq=10)
        sign_on_phone(phone, server.wait_for_link(dealer), server, dealer, "dealer")
    finally:
        context.close()

    with server.api() as api:
        status = api.get(f"/api/v1/envelopes/{envelope_id}").json()
        final = api.get(f"/api/v1/envelopes/{envelope_id}/pdf")
    assert status["status"] == "completed", status
    assert final.status_code == 200 and final.content.startswith(b"%PDF")
    pdf = final.content
    report = signing.validate_pdf(pdf, [root])
    assert [s.signer_name for s in report.signatures] == ["张三", "李经理"], report
    assert report.all_valid, report

    signed = tmp_path / "signed.pdf"
    signed.write_bytes(pdf)
    out = subprocess.run(["pdfsig", "-nocert", str(signed)], capture_output=True, text=True)
    assert out.stdout.count("Signature is Valid.") == 2, out.stdout + out.stderr

    # The handwriting drawn with the finger is really in the PDF, in the buyer's field.
    page_index, rect = field_box(pdf, buyer_field)
    dealer_page, _ = field_box(pdf, report.signatures[1].field_name)
    assert page_index == dealer_page  # both fields sit on the signature page
    ink = ink_pixels(pdf, page_index, rect, caption_pt=16)
    blank = ink_pixels(unsigned, page_index, rect, caption_pt=16)
    assert ink > blank + 500, f"buyer's field shows {ink} dark pixels, unsigned {blank}"
