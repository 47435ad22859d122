from __future__ import annotations

import asyncio
import hashlib
import io
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import DummyTimeStamper

from backend.signing import (
    CertificateAuthority,
    FieldAlreadySigned,
    FieldNotFound,
    IntentMismatch,
    InvalidHandwriting,
    InvalidPdf,
    SignedRevision,
    SigningIntent,
    async_sign_intent,
    async_validate_pdf,
    sign_intent,
    validate_pdf,
)

MakeIntent = Callable[..., SigningIntent]
PdfSig = Callable[[bytes], list[str]]
PDFSIG_VALID = "Signature is Valid."


def flip_byte_in_page_text(pdf: bytes) -> bytes:
    """Change one byte of page 1's text, which both signatures cover."""
    tampered = bytearray(pdf)
    tampered[pdf.index(b"contract page 1")] ^= 0x01
    return bytes(tampered)


def test_buyer_then_dealer_both_validate(
    signed_by_both: SignedRevision, ca: CertificateAuthority
) -> None:
    report = validate_pdf(signed_by_both.pdf, [ca.root_certificate])

    assert report.all_valid
    assert [(s.field_name, s.signer_name) for s in report.signatures] == [
        ("sig_buyer", "张三"),
        ("sig_dealer", "李四"),
    ]
    for signature in report.signatures:
        assert signature.intact and signature.valid and signature.trusted
    buyer, dealer = report.signatures
    # The buyer's signature covers its own revision; the dealer's only filled a form field.
    assert (buyer.coverage, buyer.modification_level) == ("ENTIRE_REVISION", "FORM_FILLING")
    assert (dealer.coverage, dealer.modification_level) == ("ENTIRE_FILE", "NONE")
    assert dealer.certificate_serial == signed_by_both.certificate_serial
    assert dealer.signing_time is not None
    assert abs(dealer.signing_time - datetime.now(UTC)) < timedelta(hours=1)


def test_signed_revision_is_an_incremental_update(
    contract_pdf: bytes, signed_by_buyer: SignedRevision, signed_by_both: SignedRevision
) -> None:
    assert signed_by_buyer.pdf.startswith(contract_pdf)
    assert signed_by_both.pdf.startswith(signed_by_buyer.pdf)
    assert signed_by_both.field_name == "sig_dealer"
    assert len(signed_by_both.sha256) == 64


def test_poppler_agrees_both_signatures_are_valid(
    signed_by_both: SignedRevision, pdfsig: PdfSig
) -> None:
    assert pdfsig(signed_by_both.pdf) == [PDFSIG_VALID, PDFSIG_VALID]


def test_one_flipped_byte_breaks_both_signatures(
    signed_by_both: SignedRevision, ca: CertificateAuthority, pdfsig: PdfSig
) -> None:
    tampered = flip_byte_in_page_text(signed_by_both.pdf)

    report = validate_pdf(tampered, [ca.root_certificate])
    verdicts = pdfsig(tampered)

    assert not report.all_valid
    assert len(report.signatures) == 2
    for signature in report.signatures:
        assert not signature.intact
        assert not signature.valid
    assert len(verdicts) == 2
    assert PDFSIG_VALID not in verdicts


def test_foreign_root_is_not_trusted(
    signed_by_both: SignedRevision, tmp_path: Path, master_key: bytes
) -> None:
    other_ca = CertificateAuthority.load_or_create(tmp_path / "other", master_key)

    report = validate_pdf(signed_by_both.pdf, [other_ca.root_certificate])

    assert not report.all_valid
    assert all(s.intact and s.valid and not s.trusted for s in report.signatures)


def test_unsigned_pdf_is_not_all_valid(contract_pdf: bytes, ca: CertificateAuthority) -> None:
    report = validate_pdf(contract_pdf, [ca.root_certificate])

    assert report.signatures == ()
    assert not report.all_valid


def test_not_a_pdf_is_reported_as_such(ca: CertificateAuthority) -> None:
    with pytest.raises(InvalidPdf):
        validate_pdf(b"<html>not a pdf</html>", [ca.root_certificate])


def test_refuses_a_document_the_signer_did_not_see(
    contract_pdf: bytes,
    signed_by_buyer: SignedRevision,
    make_intent: MakeIntent,
    ca: CertificateAuthority,
) -> None:
    intent = make_intent(contract_pdf, "sig_dealer", signer_role="dealer")

    with pytest.raises(IntentMismatch):
        sign_intent(signed_by_buyer.pdf, intent, ca)


def test_unknown_field(
    contract_pdf: bytes, make_intent: MakeIntent, ca: CertificateAuthority
) -> None:
    with pytest.raises(FieldNotFound):
        sign_intent(contract_pdf, make_intent(contract_pdf, "sig_witness"), ca)


def test_field_cannot_be_signed_twice(
    signed_by_buyer: SignedRevision, make_intent: MakeIntent, ca: CertificateAuthority
) -> None:
    pdf = signed_by_buyer.pdf

    with pytest.raises(FieldAlreadySigned):
        sign_intent(pdf, make_intent(pdf, "sig_buyer"), ca)


def test_garbage_instead_of_pdf(make_intent: MakeIntent, ca: CertificateAuthority) -> None:
    garbage = b"%PDF-1.7 truncated"

    with pytest.raises(InvalidPdf):
        sign_intent(garbage, make_intent(garbage), ca)


def test_blank_handwriting_is_refused(
    contract_pdf: bytes, make_intent: MakeIntent, ca: CertificateAuthority
) -> None:
    blank = Image.new("RGB", (300, 100), "white")
    buffer = io.BytesIO()
    blank.save(buffer, format="PNG")

    with pytest.raises(InvalidHandwriting):
        sign_intent(contract_pdf, make_intent(contract_pdf, handwriting_png=buffer.getvalue()), ca)
    with pytest.raises(InvalidHandwriting):
        sign_intent(contract_pdf, make_intent(contract_pdf, handwriting_png=b"not a png"), ca)


def test_naive_signing_time_is_rejected(contract_pdf: bytes, make_intent: MakeIntent) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_intent(contract_pdf, signed_at=datetime(2026, 11, 22, 14, 5))


async def test_sync_validation_also_works_inside_a_running_loop(
    signed_by_both: SignedRevision, ca: CertificateAuthority
) -> None:
    assert validate_pdf(signed_by_both.pdf, [ca.root_certificate]).all_valid
    assert (await async_validate_pdf(signed_by_both.pdf, [ca.root_certificate])).all_valid


async def test_async_signing_leaves_the_event_loop_free(
    contract_pdf: bytes,
    make_intent: MakeIntent,
    ca: CertificateAuthority,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Mid-signature, the event loop must be able to run a callback and let signing go on.

    A handshake instead of tick timing: if signing ran on the loop's thread, the callback
    could not run until it returned, and the wait below would give up.
    """
    loop = asyncio.get_running_loop()
    issue = ca.issue_event_certificate
    handshakes: list[bool] = []

    def issue_after_handshake(intent: SigningIntent, **kwargs: object) -> object:
        loop_ran = threading.Event()
        loop.call_soon_threadsafe(loop_ran.set)
        handshakes.append(loop_ran.wait(timeout=10))
        return issue(intent, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ca, "issue_event_certificate", issue_after_handshake)
    signed = await async_sign_intent(contract_pdf, make_intent(contract_pdf), ca)

    assert handshakes == [True]
    assert (await async_validate_pdf(signed.pdf, [ca.root_certificate])).all_valid


def _timestamp_authority() -> tuple[DummyTimeStamper, x509.Certificate]:
    """A throwaway RFC 3161 TSA under its own root, as a third-party TSA would be."""
    now = datetime.now(UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA Root")])
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # dummy TSA: RSA only
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    tsa = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")]))
        .issuer_name(root_name)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(root_key, hashes.SHA256())
    )

    def asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))

    key_der = tsa_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    stamper = DummyTimeStamper(
        tsa_cert=asn1(tsa),
        tsa_key=asn1_keys.PrivateKeyInfo.load(key_der),
        fixed_dt=now - timedelta(minutes=1),
    )
    return stamper, root


def test_timestamped_signature_reports_the_tsa_time(
    contract_pdf: bytes, make_intent: MakeIntent, ca: CertificateAuthority
) -> None:
    stamper, tsa_root = _timestamp_authority()

    signed = sign_intent(contract_pdf, make_intent(contract_pdf), ca, timestamper=stamper)
    report = validate_pdf(signed.pdf, [ca.root_certificate, tsa_root])

    assert report.all_valid
    (signature,) = report.signatures
    assert signature.signing_time == stamper.fixed_dt
    assert "TIMESTAMP_TOKEN<INTACT:TRUSTED>" in signature.summary


def test_signature_is_canonical_der_with_the_pades_attributes(
    signed_by_buyer: SignedRevision, ca: CertificateAuthority
) -> None:
    """The CMS is written by hand (backend.signing.der): any strict decoder must agree."""
    reader = PdfFileReader(io.BytesIO(signed_by_buyer.pdf))
    (embedded,) = reader.embedded_signatures
    contents = bytes(embedded.sig_object["/Contents"]).rstrip(b"\0")
    parsed = cms.ContentInfo.load(contents, strict=True)

    assert parsed.dump(force=True) == contents  # DER: one encoding only
    signer = parsed["content"]["signer_infos"][0]
    assert [a["type"].native for a in signer["signed_attrs"]] == [
        "content_type",
        "message_digest",
        "signing_certificate_v2",
    ]  # PAdES: no signing-time attribute; the time comes from the token
    (token_attribute,) = signer["unsigned_attrs"]
    assert token_attribute["type"].native == "signature_time_stamp_token"
    token = token_attribute["values"][0]["content"]
    imprint = token["encap_content_info"]["content"].parsed["message_imprint"]
    assert imprint["hashed_message"].native == hashlib.sha256(signer["signature"].native).digest()
    embedded_serials = {
        c.chosen["tbs_certificate"]["serial_number"].native
        for c in parsed["content"]["certificates"]
    }
    assert ca.issuing_certificate.serial_number in embedded_serials
