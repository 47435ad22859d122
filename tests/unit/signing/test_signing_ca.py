from __future__ import annotations

import multiprocessing
import stat
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from backend.signing import CertificateAuthority, MasterKeyError, SigningIntent

MakeIntent = Callable[..., SigningIntent]

CA_FILES = ("root.pem", "root.key.pem", "issuing.pem", "issuing.key.pem", "tsa.pem", "tsa.key.pem")
KEY_FILES = ("root.key.pem", "issuing.key.pem", "tsa.key.pem")


def _root_and_tsa_pem_of(directory: str, master_key: bytes) -> tuple[bytes, bytes]:
    ca = CertificateAuthority.load_or_create(Path(directory), master_key)
    return ca.root_pem(), ca.tsa.certificate_pem()


def test_creates_files_once_and_reloads_the_same_root(tmp_path: Path, master_key: bytes) -> None:
    first = CertificateAuthority.load_or_create(tmp_path, master_key)
    second = CertificateAuthority.load_or_create(tmp_path, master_key)

    assert second.root_certificate == first.root_certificate
    assert second.issuing_certificate == first.issuing_certificate
    assert second.tsa.certificate == first.tsa.certificate
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(CA_FILES)
    for name in KEY_FILES:
        path = tmp_path / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    assert first.root_pem() == (tmp_path / "root.pem").read_bytes()


def test_wrong_master_key_is_refused(tmp_path: Path, master_key: bytes) -> None:
    CertificateAuthority.load_or_create(tmp_path, master_key)

    with pytest.raises(MasterKeyError):
        CertificateAuthority.load_or_create(tmp_path, b"another master key of enough length")


def test_processes_racing_to_create_end_up_with_one_ca(tmp_path: Path, master_key: bytes) -> None:
    with ProcessPoolExecutor(6, mp_context=multiprocessing.get_context("fork")) as pool:
        results = list(pool.map(_root_and_tsa_pem_of, [str(tmp_path)] * 6, [master_key] * 6))

    assert len(set(results)) == 1
    assert results[0] == ((tmp_path / "root.pem").read_bytes(), (tmp_path / "tsa.pem").read_bytes())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(CA_FILES)


def test_a_ca_made_before_the_tsa_existed_gets_one(tmp_path: Path, master_key: bytes) -> None:
    first = CertificateAuthority.load_or_create(tmp_path, master_key)
    (tmp_path / "tsa.pem").unlink()
    (tmp_path / "tsa.key.pem").unlink()

    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("fork")) as pool:
        results = list(pool.map(_root_and_tsa_pem_of, [str(tmp_path)] * 4, [master_key] * 4))

    assert {root for root, _ in results} == {first.root_pem()}
    assert len({tsa for _, tsa in results}) == 1
    reloaded = CertificateAuthority.load_or_create(tmp_path, master_key)
    assert reloaded.issuing_certificate == first.issuing_certificate
    assert reloaded.tsa.certificate != first.tsa.certificate
    reloaded.tsa.certificate.verify_directly_issued_by(first.issuing_certificate)


def test_tsa_certificate(ca: CertificateAuthority) -> None:
    cert = ca.tsa.certificate

    cert.verify_directly_issued_by(ca.issuing_certificate)
    assert ca.tsa.chain == (ca.issuing_certificate, ca.root_certificate)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert isinstance(cert.public_key().curve, ec.SECP256R1)  # type: ignore[union-attr]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical  # RFC 3161 § 2.3
    assert list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert timedelta(days=365 * 5) <= lifetime <= timedelta(days=365 * 5 + 2)
    assert "Time-Stamping Authority" in str(
        cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    )


def test_ca_hierarchy(ca: CertificateAuthority) -> None:
    root, issuing = ca.root_certificate, ca.issuing_certificate

    root.verify_directly_issued_by(root)
    issuing.verify_directly_issued_by(root)
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey)
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    issuing_bc = issuing.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert issuing_bc.ca and issuing_bc.path_length == 0
    assert root.not_valid_after_utc - root.not_valid_before_utc > timedelta(days=365 * 19)
    assert issuing.not_valid_after_utc - issuing.not_valid_before_utc > timedelta(days=365 * 9)


def test_event_certificate(
    ca: CertificateAuthority, contract_pdf: bytes, make_intent: MakeIntent
) -> None:
    intent = make_intent(contract_pdf, signer_name="张三")
    event = ca.issue_event_certificate(intent)
    cert = event.certificate
    now = datetime.now(UTC)

    assert event.chain == (ca.issuing_certificate, ca.root_certificate)
    cert.verify_directly_issued_by(ca.issuing_certificate)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "张三"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "SignLink signer"
    )
    assert cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == (intent.signer_id)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert timedelta(minutes=4) < now - cert.not_valid_before_utc <= timedelta(minutes=6)
    assert cert.not_valid_after_utc - now <= timedelta(days=1)
    assert 0 < cert.serial_number < 2**128
    assert event.serial_hex == format(cert.serial_number, "032x")
    assert event.private_key.public_key() == cert.public_key()


def test_every_signing_gets_a_fresh_key_and_serial(
    ca: CertificateAuthority, contract_pdf: bytes, make_intent: MakeIntent
) -> None:
    intent = make_intent(contract_pdf)
    first, second = ca.issue_event_certificate(intent), ca.issue_event_certificate(intent)

    assert first.certificate.public_key() != second.certificate.public_key()
    assert first.serial_hex != second.serial_hex


def test_any_signer_id_can_be_signed_for(
    ca: CertificateAuthority, contract_pdf: bytes, make_intent: MakeIntent
) -> None:
    from backend.signing import sign_intent, validate_pdf

    signed = sign_intent(contract_pdf, make_intent(contract_pdf, signer_id="signer_1:张三"), ca)
    assert validate_pdf(signed.pdf, [ca.root_certificate]).all_valid
