"""The project's own certificate authority: a root, an issuing CA, a time-stamping authority
and one-use signer certificates.

Layout of the CA directory (private keys are PKCS#8, encrypted with the master key, mode 0600)::

    root.pem  root.key.pem  issuing.pem  issuing.key.pem  tsa.pem  tsa.key.pem

Creation is first-writer-wins: each file is written to a private temporary name and then
hard-linked into place, which fails if another process got there first. The process that
loses the race for ``root.key.pem`` throws its material away and loads the winner's. The TSA
pair is created the same way, after the issuing CA is on disk (``tsa.key.pem`` is the claim,
``tsa.pem`` marks completion), so directories made before the TSA existed get one on load.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from backend.signing.errors import MasterKeyError, SigningError
from backend.signing.intent import SigningIntent
from backend.signing.tsa import TimeStampAuthority

__all__ = ["CertificateAuthority", "EventCertificate", "serial_hex"]

ROOT_CERT = "root.pem"
ROOT_KEY = "root.key.pem"
ISSUING_CERT = "issuing.pem"
ISSUING_KEY = "issuing.key.pem"
TSA_CERT = "tsa.pem"
TSA_KEY = "tsa.key.pem"
# Written in this order; the first file is the claim, the last one marks completion.
_CREATION_ORDER = (ROOT_KEY, ROOT_CERT, ISSUING_KEY, ISSUING_CERT)
_TSA_CREATION_ORDER = (TSA_KEY, TSA_CERT)

ROOT_LIFETIME = timedelta(days=365 * 20 + 5)
ISSUING_LIFETIME = timedelta(days=365 * 10 + 2)
EVENT_LIFETIME = timedelta(days=1)
TSA_LIFETIME = timedelta(days=365 * 5 + 1)
# Tolerates clocks of validators that run slightly behind ours.
CLOCK_SKEW = timedelta(minutes=5)
_WAIT_FOR_PEER_SECONDS = 30.0

SIGNER_ORGANISATION = "SignLink signer"
# id-kp-documentSigning (RFC 9336) is deliberately not set: with no EKU at all every
# PDF reader accepts the certificate for signing.


def serial_hex(serial_number: int) -> str:
    """A certificate serial number as lower-case hex, zero-padded to 128 bits."""
    return format(serial_number, "032x")


@dataclass(frozen=True)
class EventCertificate:
    """A short-lived certificate and key issued for exactly one signing event."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey
    chain: tuple[x509.Certificate, ...]
    """Issuing CA first, then the root."""

    @property
    def serial_hex(self) -> str:
        return serial_hex(self.certificate.serial_number)


@dataclass(frozen=True)
class _Authority:
    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey


class CertificateAuthority:
    """Root and issuing CA loaded from (or created in) a directory."""

    def __init__(self, root: _Authority, issuing: _Authority, tsa: _Authority) -> None:
        self._root = root
        self._issuing = issuing
        self._tsa = TimeStampAuthority(
            tsa.certificate, tsa.private_key, chain=(issuing.certificate, root.certificate)
        )

    @property
    def root_certificate(self) -> x509.Certificate:
        return self._root.certificate

    @property
    def issuing_certificate(self) -> x509.Certificate:
        return self._issuing.certificate

    @property
    def tsa(self) -> TimeStampAuthority:
        """The RFC 3161 time-stamping authority whose certificate this CA issued."""
        return self._tsa

    def root_pem(self) -> bytes:
        return self._root.certificate.public_bytes(serialization.Encoding.PEM)

    @classmethod
    def load_or_create(
        cls, directory: Path, master_key: bytes, *, organisation: str = "SignLink"
    ) -> CertificateAuthority:
        """Load the CA from ``directory``, creating a new root, issuing CA and TSA on first use.

        A directory that holds a CA but no TSA yet gets a TSA certificate from its issuing CA.
        Raises :class:`MasterKeyError` if the stored keys do not open with ``master_key``.
        """
        if not master_key:
            raise MasterKeyError("the master key must not be empty")
        directory.mkdir(parents=True, exist_ok=True)
        if not (directory / ISSUING_CERT).exists():
            _create(directory, master_key, organisation)
        root = _load_authority(directory, ROOT_CERT, ROOT_KEY, master_key)
        issuing = _load_authority(directory, ISSUING_CERT, ISSUING_KEY, master_key)
        if not (directory / TSA_CERT).exists():
            _create_tsa(directory, master_key, issuing)
        tsa = _load_authority(directory, TSA_CERT, TSA_KEY, master_key)
        return cls(root=root, issuing=issuing, tsa=tsa)

    def issue_event_certificate(self, intent: SigningIntent) -> EventCertificate:
        """Issue a fresh P-256 key and a one-day certificate naming the signer."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        issuer = self._issuing.certificate
        not_after = min(now + EVENT_LIFETIME, issuer.not_valid_after_utc)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, intent.signer_name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, SIGNER_ORGANISATION),
                # The platform's opaque signer id tells two people of the same name apart;
                # never a national ID number.
                x509.NameAttribute(NameOID.SERIAL_NUMBER, intent.signer_id),
            ]
        )
        certificate = (
            _builder(subject, issuer.subject, key.public_key(), now - CLOCK_SKEW, not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                _key_usage(digital_signature=True, content_commitment=True), critical=True
            )
            .add_extension(_aki(issuer), critical=False)
            .sign(self._issuing.private_key, hashes.SHA256())
        )
        return EventCertificate(
            certificate=certificate,
            private_key=key,
            chain=(issuer, self._root.certificate),
        )


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    not_before: datetime,
    not_after: datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(secrets.randbits(128) | 1)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _key_usage(
    *, digital_signature: bool = False, content_commitment: bool = False, ca: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _aki(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _ca_name(organisation: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _new_authorities(organisation: str) -> tuple[_Authority, _Authority]:
    now = datetime.now(UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _ca_name(organisation, f"{organisation} Root CA")
    root_cert = (
        _builder(root_name, root_name, root_key.public_key(), now - CLOCK_SKEW, now + ROOT_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    issuing_key = ec.generate_private_key(ec.SECP256R1())
    issuing_cert = (
        _builder(
            _ca_name(organisation, f"{organisation} Issuing CA"),
            root_name,
            issuing_key.public_key(),
            now - CLOCK_SKEW,
            now + ISSUING_LIFETIME,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(_aki(root_cert), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    return _Authority(root_cert, root_key), _Authority(issuing_cert, issuing_key)


def _new_tsa(issuing: _Authority) -> _Authority:
    """A time-stamping unit certificate as RFC 3161 § 2.3 and ETSI EN 319 422 ask for."""
    now = datetime.now(UTC)
    issuer = issuing.certificate
    organisations = issuer.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    organisation = str(organisations[0].value) if organisations else "SignLink"
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        _builder(
            _ca_name(organisation, f"{organisation} Time-Stamping Authority"),
            issuer.subject,
            key.public_key(),
            now - CLOCK_SKEW,
            min(now + TSA_LIFETIME, issuer.not_valid_after_utc),
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
        # RFC 3161 § 2.3: exactly this one purpose, and the extension MUST be critical.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(_aki(issuer), critical=False)
        .sign(issuing.private_key, hashes.SHA256())
    )
    return _Authority(certificate, key)


def _pem_files(
    names: tuple[str, str], authority: _Authority, master_key: bytes
) -> dict[str, bytes]:
    """``{key file: encrypted PKCS#8 PEM, certificate file: PEM}``."""
    key_name, cert_name = names
    key_pem = authority.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(master_key),
    )
    return {
        key_name: key_pem,
        cert_name: authority.certificate.public_bytes(serialization.Encoding.PEM),
    }


def _create(directory: Path, master_key: bytes, organisation: str) -> None:
    root, issuing = _new_authorities(organisation)
    contents = _pem_files((ROOT_KEY, ROOT_CERT), root, master_key) | _pem_files(
        (ISSUING_KEY, ISSUING_CERT), issuing, master_key
    )
    _publish_all(directory, _CREATION_ORDER, contents)


def _create_tsa(directory: Path, master_key: bytes, issuing: _Authority) -> None:
    contents = _pem_files((TSA_KEY, TSA_CERT), _new_tsa(issuing), master_key)
    _publish_all(directory, _TSA_CREATION_ORDER, contents)


def _publish_all(directory: Path, order: tuple[str, ...], contents: dict[str, bytes]) -> None:
    """Publish ``contents`` in ``order``; on losing the race, wait for the winner's last file."""
    for name in order:
        if not _publish(directory / name, contents[name]):
            _wait_for_peer(directory / order[-1])
            return


def _publish(target: Path, data: bytes) -> bool:
    """Write ``data`` to ``target`` unless it exists; False if another writer was first."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, target)
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)
    return True


def _wait_for_peer(completion_marker: Path) -> None:
    deadline = time.monotonic() + _WAIT_FOR_PEER_SECONDS
    while not completion_marker.exists():
        if time.monotonic() > deadline:
            raise SigningError(
                f"CA directory {completion_marker.parent} is incomplete: another process "
                f"started creating it and did not write {completion_marker.name}; inspect "
                f"the directory and remove partial files"
            )
        time.sleep(0.05)


def _load_authority(
    directory: Path, cert_name: str, key_name: str, master_key: bytes
) -> _Authority:
    certificate = x509.load_pem_x509_certificate((directory / cert_name).read_bytes())
    try:
        key = serialization.load_pem_private_key(
            (directory / key_name).read_bytes(), password=master_key
        )
    except (ValueError, TypeError) as exc:
        raise MasterKeyError(
            f"cannot decrypt {directory / key_name} with the configured master key "
            f"(SIGNLINK_MASTER_KEY changed?)"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != (
        certificate.public_key()
    ):
        raise SigningError(f"{directory / key_name} does not belong to {directory / cert_name}")
    return _Authority(certificate, key)
