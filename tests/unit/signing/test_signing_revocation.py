"""Revocation served by the CA: CRLs, an OCSP responder, and certificates that point there."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID, NameOID

from backend.signing import CertificateAuthority, SigningIntent, sign_intent, validate_pdf

MakeIntent = Callable[..., SigningIntent]


@pytest.fixture
def fresh_ca(tmp_path: Path, master_key: bytes) -> CertificateAuthority:
    return CertificateAuthority.load_or_create(
        tmp_path / "pki", master_key, public_url="https://sign.example.test/"
    )


def ocsp_request(
    cert: x509.Certificate, issuer: x509.Certificate, nonce: bytes | None = None
) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA256())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def event_cert(ca: CertificateAuthority, make_intent: MakeIntent, pdf: bytes) -> x509.Certificate:
    return ca.issue_event_certificate(make_intent(pdf)).certificate


def test_certificates_point_at_the_public_crl_and_ocsp(
    fresh_ca: CertificateAuthority, make_intent: MakeIntent, contract_pdf: bytes
) -> None:
    cert = event_cert(fresh_ca, make_intent, contract_pdf)

    dps = cert.extensions.get_extension_for_oid(ExtensionOID.CRL_DISTRIBUTION_POINTS).value
    aia = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS).value
    assert [n.value for n in dps[0].full_name] == ["https://sign.example.test/pki/crl"]
    by_method = {d.access_method: d.access_location.value for d in aia}
    assert by_method[AuthorityInformationAccessOID.OCSP] == "https://sign.example.test/pki/ocsp"
    assert by_method[AuthorityInformationAccessOID.CA_ISSUERS] == (
        "https://sign.example.test/pki/issuing.cer"
    )
    for issued in (fresh_ca.tsa.certificate, fresh_ca.issuing_certificate):
        issued.extensions.get_extension_for_oid(ExtensionOID.CRL_DISTRIBUTION_POINTS)


def test_without_a_public_url_certificates_carry_no_pointers(
    tmp_path: Path, master_key: bytes, make_intent: MakeIntent, contract_pdf: bytes
) -> None:
    ca = CertificateAuthority.load_or_create(tmp_path, master_key)
    cert = event_cert(ca, make_intent, contract_pdf)
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_oid(ExtensionOID.CRL_DISTRIBUTION_POINTS)


def test_crl_is_signed_by_the_issuing_ca_and_lists_revoked_serials(
    fresh_ca: CertificateAuthority, make_intent: MakeIntent, contract_pdf: bytes
) -> None:
    cert = event_cert(fresh_ca, make_intent, contract_pdf)
    empty = x509.load_der_x509_crl(fresh_ca.crl_der())
    assert empty.is_signature_valid(fresh_ca.issuing_certificate.public_key())  # type: ignore[arg-type]
    assert empty.get_revoked_certificate_by_serial_number(cert.serial_number) is None
    assert empty.next_update_utc is not None and empty.last_update_utc is not None
    assert empty.next_update_utc - empty.last_update_utc <= __import__("datetime").timedelta(
        days=1, minutes=5
    )

    fresh_ca.revoke(format(cert.serial_number, "032x"), "key_compromise")
    crl = x509.load_der_x509_crl(fresh_ca.crl_der())

    entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is (
        x509.ReasonFlags.key_compromise
    )
    root_crl = x509.load_der_x509_crl(fresh_ca.root_crl_der())
    assert root_crl.is_signature_valid(fresh_ca.root_certificate.public_key())  # type: ignore[arg-type]
    assert len(root_crl) == 0


def test_ocsp_answers_good_then_revoked_and_echoes_the_nonce(
    fresh_ca: CertificateAuthority, make_intent: MakeIntent, contract_pdf: bytes
) -> None:
    cert = event_cert(fresh_ca, make_intent, contract_pdf)
    request = ocsp_request(cert, fresh_ca.issuing_certificate, nonce=b"0123456789abcdef")

    good = ocsp.load_der_ocsp_response(fresh_ca.ocsp_response(request))
    fresh_ca.revoke(cert.serial_number, "superseded")
    revoked = ocsp.load_der_ocsp_response(fresh_ca.ocsp_response(request))

    assert good.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert good.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert good.serial_number == cert.serial_number
    assert good.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == (
        b"0123456789abcdef"
    )
    fresh_ca.issuing_certificate.public_key().verify(  # type: ignore[call-arg]
        good.signature,
        good.tbs_response_bytes,
        __import__("cryptography.hazmat.primitives.asymmetric.ec", fromlist=["ECDSA"]).ECDSA(
            hashes.SHA256()
        ),
    )
    assert revoked.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert revoked.revocation_reason is x509.ReasonFlags.superseded


def test_ocsp_answers_unknown_for_a_serial_the_ca_never_issued(
    fresh_ca: CertificateAuthority, tmp_path: Path, master_key: bytes
) -> None:
    """A certificate forged with our issuer's name and key id, but a serial we never issued."""
    forged_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    forged = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "张三")]))
        .issuer_name(fresh_ca.issuing_certificate.subject)
        .public_key(forged_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(forged_key, hashes.SHA256())
    )

    answer = ocsp.load_der_ocsp_response(
        fresh_ca.ocsp_response(ocsp_request(forged, fresh_ca.issuing_certificate))
    )
    # The root is asked about the issuing CA only; any other serial is unknown to it.
    root = fresh_ca.root_certificate
    about_root_child = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(
            issuer_name_hash=hashlib.sha1(root.subject.public_bytes()).digest(),
            issuer_key_hash=x509.SubjectKeyIdentifier.from_public_key(root.public_key()).digest,
            serial_number=forged.serial_number,
            algorithm=hashes.SHA1(),
        )
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    root_answer = ocsp.load_der_ocsp_response(fresh_ca.ocsp_response(about_root_child))

    assert answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.certificate_status is ocsp.OCSPCertStatus.UNKNOWN
    assert root_answer.certificate_status is ocsp.OCSPCertStatus.UNKNOWN


def test_ocsp_knows_certificates_issued_by_another_process(
    fresh_ca: CertificateAuthority,
    tmp_path: Path,
    master_key: bytes,
    make_intent: MakeIntent,
    contract_pdf: bytes,
) -> None:
    responder = CertificateAuthority.load_or_create(tmp_path / "pki", master_key)
    responder.ocsp_response(b"")  # warm: the responder has read the register before
    tsa_request = ocsp_request(fresh_ca.tsa.certificate, fresh_ca.issuing_certificate)
    issuing_request = ocsp_request(fresh_ca.issuing_certificate, fresh_ca.root_certificate)

    cert = event_cert(fresh_ca, make_intent, contract_pdf)  # issued by the other instance

    for request in (
        ocsp_request(cert, fresh_ca.issuing_certificate),
        tsa_request,
        issuing_request,
    ):
        answer = ocsp.load_der_ocsp_response(responder.ocsp_response(request))
        assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD


def test_ocsp_refuses_garbage_and_foreign_certificates(
    fresh_ca: CertificateAuthority,
    tmp_path: Path,
    master_key: bytes,
    make_intent: MakeIntent,
    contract_pdf: bytes,
) -> None:
    other = CertificateAuthority.load_or_create(tmp_path / "other", master_key)
    foreign = event_cert(other, make_intent, contract_pdf)

    garbage = ocsp.load_der_ocsp_response(fresh_ca.ocsp_response(b"\x30\x03not ocsp"))
    empty = ocsp.load_der_ocsp_response(fresh_ca.ocsp_response(b""))
    unauthorized = ocsp.load_der_ocsp_response(
        fresh_ca.ocsp_response(ocsp_request(foreign, other.issuing_certificate))
    )

    assert garbage.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    assert empty.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    assert unauthorized.response_status is ocsp.OCSPResponseStatus.UNAUTHORIZED


def test_revocations_survive_a_restart_and_concurrent_writers(
    tmp_path: Path, master_key: bytes, make_intent: MakeIntent, contract_pdf: bytes
) -> None:
    directory = tmp_path / "pki"
    first = CertificateAuthority.load_or_create(directory, master_key)
    second = CertificateAuthority.load_or_create(directory, master_key)
    serials = [event_cert(first, make_intent, contract_pdf).serial_number for _ in range(12)]

    threads = [
        threading.Thread(target=(first if i % 2 else second).revoke, args=(serial,))
        for i, serial in enumerate(serials)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    reloaded = CertificateAuthority.load_or_create(directory, master_key)
    assert all(reloaded.is_revoked(s) for s in serials)
    crl = x509.load_der_x509_crl(reloaded.crl_der())
    assert {r.serial_number for r in crl} == set(serials)


def test_unknown_reasons_and_the_root_cannot_be_revoked(fresh_ca: CertificateAuthority) -> None:
    with pytest.raises(ValueError, match="reason"):
        fresh_ca.revoke(1, "because")
    with pytest.raises(ValueError, match="root"):
        fresh_ca.revoke(fresh_ca.root_certificate.serial_number)


def test_rsa_ca_signs_and_stamps(
    tmp_path: Path, master_key: bytes, make_intent: MakeIntent, contract_pdf: bytes
) -> None:
    ca = CertificateAuthority.load_or_create(tmp_path, master_key, key_algorithm="rsa-2048")
    signed = sign_intent(contract_pdf, make_intent(contract_pdf), ca)

    assert ca.root_certificate.public_key().key_size == 2048  # type: ignore[union-attr]
    report = validate_pdf(signed.pdf, [ca.root_certificate])
    assert report.all_valid and report.signatures[0].timestamp_time is not None
    with pytest.raises(ValueError, match="algorithm"):
        CertificateAuthority.load_or_create(tmp_path / "x", master_key, key_algorithm="dsa")  # type: ignore[arg-type]
