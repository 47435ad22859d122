"""The CA's public routes: certificates, CRLs and the OCSP responder over HTTP."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from backend import signing
from backend.pki import DatabaseRevocationStore


async def test_crl_and_certificates_are_served(client: Any) -> None:
    issuing = await client.get("/pki/issuing.cer")
    root = await client.get("/pki/root.cer")
    crl = await client.get("/pki/crl")
    root_crl = await client.get("/pki/root.crl")

    assert issuing.headers["content-type"].startswith("application/pkix-cert")
    issuing_cert = x509.load_der_x509_certificate(issuing.content)
    root_cert = x509.load_der_x509_certificate(root.content)
    assert issuing_cert.issuer == root_cert.subject
    assert crl.headers["content-type"].startswith("application/pkix-crl")
    parsed = x509.load_der_x509_crl(crl.content)
    assert parsed.issuer == issuing_cert.subject
    assert parsed.is_signature_valid(issuing_cert.public_key())  # type: ignore[arg-type]
    assert x509.load_der_x509_crl(root_crl.content).issuer == root_cert.subject


async def test_ocsp_post_and_get(client: Any, app: Any) -> None:
    ca = app.state.ca
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(ca.tsa.certificate, ca.issuing_certificate, hashes.SHA1())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )

    posted = await client.post(
        "/pki/ocsp", content=request, headers={"Content-Type": "application/ocsp-request"}
    )
    fetched = await client.get("/pki/ocsp/" + base64.b64encode(request).decode())
    garbage = await client.post("/pki/ocsp", content=b"nonsense")

    for reply in (posted, fetched):
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("application/ocsp-response")
        answer = ocsp.load_der_ocsp_response(reply.content)
        assert answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
        assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert garbage.status_code == 200
    assert ocsp.load_der_ocsp_response(garbage.content).response_status is (
        ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    )


async def test_ocsp_get_whose_base64_holds_a_double_slash(client: Any, app: Any) -> None:
    """Base64 may hold "//"; the route must answer the request the client sent, plain or
    URL-encoded (RFC 6960 A.1), not one with the slashes squeezed together."""
    ca = app.state.ca
    for counter in range(100_000):
        request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(ca.tsa.certificate, ca.issuing_certificate, hashes.SHA1())
            .add_extension(x509.OCSPNonce(counter.to_bytes(16, "big")), critical=False)
            .build()
            .public_bytes(serialization.Encoding.DER)
        )
        encoded = base64.b64encode(request).decode()
        if "//" in encoded:
            break
    assert "//" in encoded
    for path in (encoded, quote(encoded, safe="")):
        reply = await client.get("/pki/ocsp/" + path)
        answer = ocsp.load_der_ocsp_response(reply.content)
        assert answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL, path
        assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD


async def test_ocsp_answers_unknown_for_a_serial_never_issued(client: Any, app: Any) -> None:
    ca = app.state.ca
    # Same issuer name and key hash as a real request, a serial the CA never issued.
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(
            issuer_name_hash=hashlib.sha1(ca.issuing_certificate.subject.public_bytes()).digest(),
            issuer_key_hash=x509.SubjectKeyIdentifier.from_public_key(
                ca.issuing_certificate.public_key()
            ).digest,
            serial_number=x509.random_serial_number(),
            algorithm=hashes.SHA1(),
        )
        .build()
        .public_bytes(serialization.Encoding.DER)
    )

    reply = await client.post(
        "/pki/ocsp", content=request, headers={"Content-Type": "application/ocsp-request"}
    )

    answer = ocsp.load_der_ocsp_response(reply.content)
    assert answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.certificate_status is ocsp.OCSPCertStatus.UNKNOWN


def _ocsp_status(ca: signing.CertificateAuthority, serial: int) -> ocsp.OCSPCertStatus:
    issuing = ca.issuing_certificate
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(
            issuer_name_hash=hashlib.sha1(issuing.subject.public_bytes()).digest(),
            issuer_key_hash=x509.SubjectKeyIdentifier.from_public_key(issuing.public_key()).digest,
            serial_number=serial,
            algorithm=hashes.SHA1(),
        )
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    return ocsp.load_der_ocsp_response(ca.ocsp_response(request)).certificate_status


def _intent() -> signing.SigningIntent:
    return signing.SigningIntent(
        envelope_id="env-db-store",
        signer_id="signer-1",
        signer_name="张三",
        signer_role="buyer",
        field_name="sig_buyer",
        document_sha256="0" * 64,
        handwriting_png=b"",
        verified_by="sms-otp",
        signed_at=datetime.now(UTC),
    )


async def test_database_store_is_shared_by_every_process(migrated: None, tmp_path: Path) -> None:
    """Two CA instances (two app processes) on one database see each other at once."""
    master_key = b"integration-master-key" * 2

    def load() -> signing.CertificateAuthority:
        return signing.CertificateAuthority.load_or_create(
            tmp_path / "pki", master_key, revocations=DatabaseRevocationStore()
        )

    signer_process = await asyncio.to_thread(load)
    responder = await asyncio.to_thread(load)
    issued = await asyncio.to_thread(signer_process.issue_event_certificate, _intent())
    serial = issued.certificate.serial_number

    assert await asyncio.to_thread(_ocsp_status, responder, serial) is ocsp.OCSPCertStatus.GOOD
    never_issued = x509.random_serial_number()
    assert await asyncio.to_thread(_ocsp_status, responder, never_issued) is (
        ocsp.OCSPCertStatus.UNKNOWN
    )

    await asyncio.to_thread(signer_process.revoke, serial, "key_compromise")

    assert await asyncio.to_thread(_ocsp_status, responder, serial) is (ocsp.OCSPCertStatus.REVOKED)
    crl = x509.load_der_x509_crl(await asyncio.to_thread(responder.crl_der))
    entry = crl.get_revoked_certificate_by_serial_number(serial)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is (
        x509.ReasonFlags.key_compromise
    )
    # Nothing went to the PKI directory's files.
    assert not (tmp_path / "pki" / "issued.log").exists()
    assert not (tmp_path / "pki" / "revoked.json").exists()


async def test_file_registers_are_copied_into_the_database(migrated: None, tmp_path: Path) -> None:
    directory = tmp_path / "pki"
    master_key = b"integration-master-key" * 2
    on_files = await asyncio.to_thread(
        signing.CertificateAuthority.load_or_create, directory, master_key
    )
    kept = await asyncio.to_thread(on_files.issue_event_certificate, _intent())
    revoked = await asyncio.to_thread(on_files.issue_event_certificate, _intent())
    await asyncio.to_thread(on_files.revoke, revoked.certificate.serial_number, "superseded")

    store = DatabaseRevocationStore()
    await asyncio.to_thread(store.import_files, directory)
    await asyncio.to_thread(store.import_files, directory)  # twice: nothing doubles
    on_database = await asyncio.to_thread(
        signing.CertificateAuthority.load_or_create, directory, master_key, revocations=store
    )

    assert await asyncio.to_thread(_ocsp_status, on_database, kept.certificate.serial_number) is (
        ocsp.OCSPCertStatus.GOOD
    )
    assert await asyncio.to_thread(
        _ocsp_status, on_database, revoked.certificate.serial_number
    ) is (ocsp.OCSPCertStatus.REVOKED)
