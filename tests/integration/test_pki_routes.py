"""The CA's public routes: certificates, CRLs and the OCSP responder over HTTP."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp


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
