"""The car-purchase journey over HTTP: API, SMS, link, code, handwriting, sign; twice."""

from __future__ import annotations

import asyncio
import re
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509

from backend import signing
from backend.envelopes.tables import DocumentRevision
from tests.integration.journey import (
    BUYER_PHONE,
    DEALER_PHONE,
    car_purchase_body,
    sign_as,
    wait_for_sms,
)


async def wait_for_long_term(envelope_id: str, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await DocumentRevision.exists().where(
        (DocumentRevision.envelope == uuid.UUID(envelope_id))
        & (DocumentRevision.reason == "long-term")
    ):
        assert loop.time() < deadline, "the long-term revision was not made"
        await asyncio.sleep(0.1)


def pdfsig_report(pdfsig: str, path: Path) -> str:
    done = subprocess.run([pdfsig, "-nocert", str(path)], capture_output=True, text=True)
    return done.stdout + done.stderr


async def test_car_purchase_signed_by_buyer_then_dealer(client, auth, outbox, pdfsig, tmp_path):
    # The outbox finds links by phone: this test owns the default numbers (journey.py).
    assert outbox.messages(BUYER_PHONE) == [], "another test sent to car_purchase_body()'s phones"
    created = await client.post("/api/v1/envelopes", json=car_purchase_body(), headers=auth)
    assert created.status_code == 201, created.text
    envelope = created.json()
    assert envelope["status"] == "sent"
    assert [s["role"] for s in envelope["signers"]] == ["buyer", "dealer"]
    assert envelope["signers"][0]["phone"] == "138****8000"

    # Only the buyer is invited; the SMS is a real, short Chinese text with a link.
    await wait_for_sms(outbox, BUYER_PHONE)
    sms = outbox.last(BUYER_PHONE)
    assert "汽车买卖合同" in sms["text"] and "演示汽车销售服务有限公司" in sms["text"]
    assert len(sms["text"]) <= 90
    assert outbox.messages(DEALER_PHONE) == []

    # The dealer's turn has not come: the dealer's link would refuse; here the buyer signs.
    await sign_as(client, outbox, outbox.link_for(BUYER_PHONE), BUYER_PHONE)
    # The dealer is notified only now, and signs.
    await wait_for_sms(outbox, DEALER_PHONE)
    # The worker records the notification just after the SMS provider accepted it.
    for _ in range(100):
        status = (await client.get(f"/api/v1/envelopes/{envelope['id']}", headers=auth)).json()
        if status["signers"][1]["status"] != "waiting":
            break
        await asyncio.sleep(0.05)
    assert status["status"] == "sent"
    assert [s["status"] for s in status["signers"]] == ["signed", "notified"]
    await sign_as(client, outbox, outbox.link_for(DEALER_PHONE), DEALER_PHONE)
    status = (await client.get(f"/api/v1/envelopes/{envelope['id']}", headers=auth)).json()
    assert status["status"] == "completed"
    assert all(s["signed_at"] for s in status["signers"])

    # On completion the document is made long-term verifiable (B-LTA) in the background.
    await wait_for_long_term(envelope["id"])
    pdf = await client.get(f"/api/v1/envelopes/{envelope['id']}/pdf", headers=auth)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    downloaded = await client.get(f"{outbox.link_for(BUYER_PHONE)}/download")
    assert downloaded.content == pdf.content

    # Both signatures validate against the root the server publishes, and stay intact.
    root_pem = (await client.get("/pki/root.pem")).content
    root = x509.load_pem_x509_certificate(root_pem)
    report = signing.validate_pdf(pdf.content, [root])
    assert [s.signer_name for s in report.signatures] == ["张三", "李经理"]
    assert report.all_valid, report
    assert report.level == "B-LTA"
    # Still valid offline three years on, long after the one-day signer certificates.
    later = signing.validate_pdf(
        pdf.content, [root], at=datetime.now(UTC) + timedelta(days=3 * 365)
    )
    assert later.all_valid, later

    # poppler agrees.
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(pdf.content)
    out = pdfsig_report(pdfsig, signed)
    assert out.count("Signature is Valid") == 2, out

    # One changed byte inside the signed range breaks both, for pyHanko and for poppler.
    first_range = re.search(rb"/ByteRange\s*\[\s*0\s+(\d+)", pdf.content)
    assert first_range
    data = bytearray(pdf.content)
    data[int(first_range.group(1)) // 2] ^= 0x01
    broken = signing.validate_pdf(bytes(data), [root])
    assert not any(s.intact and s.valid for s in broken.signatures)
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    assert "Signature is Valid" not in pdfsig_report(pdfsig, tampered)
