"""The signing evidence report: a Chinese PDF with the parties and hashes, signed by the
platform, only for the envelope's own organisation."""

from __future__ import annotations

import asyncio
import re
import subprocess
import uuid
from pathlib import Path

import pypdfium2
import pytest

from backend import signing
from backend.evidence import services as evidence
from tests.integration.test_evidence_trail import complete_envelope

BUYER = "13700137011"
DEALER = "13700137012"


@pytest.fixture(scope="module")
async def envelope_id(client, api_key, outbox) -> str:
    return await complete_envelope(
        client, {"Authorization": f"Bearer {api_key}"}, outbox, BUYER, DEALER
    )


@pytest.fixture(scope="module")
async def report_pdf(client, api_key, envelope_id) -> bytes:
    response = await client.get(
        f"/api/v1/envelopes/{envelope_id}/evidence",
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/pdf")
    assert "attachment" in response.headers["content-disposition"]
    return response.content


def text_of(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return "".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def pdfsig_verdicts(pdfsig: str, path: Path) -> str:
    done = subprocess.run([pdfsig, "-nocert", str(path)], capture_output=True, text=True)
    return done.stdout + done.stderr


async def test_report_names_parties_identity_and_hashes(report_pdf, envelope_id, client, auth):
    text = text_of(report_pdf)
    compact = re.sub(r"\s+", "", text)
    assert "签约存证报告" in text
    assert "张三" in text and "李经理" in text and "演示汽车销售服务有限公司" in text
    assert "137****7011" in text and BUYER not in compact
    status = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()
    assert status["document_sha256"] in compact
    events = await evidence.events_for(uuid.UUID(envelope_id))
    assert events[-1]["hash"] in compact
    completed = next(e for e in events if e["kind"] == "envelope.completed")
    for s in completed["data"]["signatures"]:
        assert s["certificate_serial"] in compact and s["signature_sha256"] in compact
    for label in ("打开签署链接", "确认签署意愿", "完成签名", "全部签署完成", "事件链封存"):
        assert label in compact, label
    assert f"/verify?sha256={status['document_sha256']}" in compact


async def test_report_is_small_enough_for_a_phone(report_pdf, pdfsig, tmp_path):
    # The compact GB 2312 fonts and no faked bold: 518 KB with the full fonts, ~106 KB now.
    path = tmp_path / "report.pdf"
    path.write_bytes(report_pdf)
    pdffonts = Path(pdfsig).with_name("pdffonts")
    listed = subprocess.run([pdffonts, str(path)], capture_output=True, text=True, check=True)
    names = {line.split()[0].split("+")[-1] for line in listed.stdout.splitlines()[2:]}
    assert names == {"SignLink-Serif-SC-Common", "SignLink-Sans-SC-Common", "DejaVu-Sans-Mono"}
    assert len(report_pdf) < 200_000


async def test_report_is_signed_by_the_platform(report_pdf, client, pdfsig, tmp_path):
    root = (await client.get("/pki/root.pem")).content
    from cryptography import x509

    result = signing.validate_pdf(report_pdf, [x509.load_pem_x509_certificate(root)])
    assert result.all_valid, result
    [platform] = result.signatures
    assert "电子签约平台" in platform.signer_name
    assert platform.timestamp_time is not None

    path = tmp_path / "report.pdf"
    path.write_bytes(report_pdf)
    assert "Signature is Valid" in pdfsig_verdicts(pdfsig, path)


async def test_one_changed_byte_of_the_report_is_detected(report_pdf, client, pdfsig, tmp_path):
    from cryptography import x509

    root = x509.load_pem_x509_certificate((await client.get("/pki/root.pem")).content)
    signed_range = re.search(rb"/ByteRange\s*\[\s*0\s+(\d+)", report_pdf)
    assert signed_range
    data = bytearray(report_pdf)
    data[int(signed_range.group(1)) // 2] ^= 0x01
    broken = signing.validate_pdf(bytes(data), [root])
    assert not broken.all_valid
    path = tmp_path / "tampered.pdf"
    path.write_bytes(bytes(data))
    assert "Signature is Valid" not in pdfsig_verdicts(pdfsig, path)


async def test_another_organisation_cannot_get_the_evidence(client, envelope_id):
    from backend.orgs.services import create_api_key, create_organisation

    other = await create_organisation(f"另一家公司-{uuid.uuid4().hex[:6]}")
    key = await create_api_key(other.id)
    for suffix in ("evidence", "evidence.zip", "evidence?format=zip"):
        response = await client.get(
            f"/api/v1/envelopes/{envelope_id}/{suffix}", headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 404, suffix
    anonymous = await client.get(f"/api/v1/envelopes/{envelope_id}/evidence")
    assert anonymous.status_code == 401


async def test_unknown_format_is_refused(client, auth, envelope_id):
    response = await client.get(
        f"/api/v1/envelopes/{envelope_id}/evidence?format=doc", headers=auth
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"][0]["path"] == "format"


async def test_report_of_an_envelope_still_being_signed(client, auth, outbox):
    from tests.integration.journey import car_purchase_body, wait_for_sms

    created = await client.post(
        "/api/v1/envelopes", json=car_purchase_body("13700137013", "13700137014"), headers=auth
    )
    await wait_for_sms(outbox, "13700137013")
    response = await client.get(f"/api/v1/envelopes/{created.json()['id']}/evidence", headers=auth)
    assert response.status_code == 200
    text = await asyncio.to_thread(text_of, response.content)
    assert "签署中" in text and "尚未完成签署" in text
