"""The platform's own signing certificate, and PAdES signatures the platform makes itself.

SignLink vouches for documents it produces, such as the signing evidence report
(签约存证报告), with a certificate issued by its issuing CA to the platform. It is kept in
``platform.pem`` in the CA directory: the certificate, then its PKCS#8 key encrypted with
the master key (one file, so the pair is always replaced together). It is issued on first
use and renewed when it has less than :data:`RENEW_BEFORE` left.

The report signature is a certification signature (DocMDP: no changes allowed) with an
RFC 3161 timestamp from the CA's TSA (PAdES B-T), invisible on the page.
"""

from __future__ import annotations

import asyncio
import io
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields
from pyhanko.sign.timestamps import TimeStamper

from backend.signing.ca import (
    CLOCK_SKEW,
    ISSUING_CERT,
    ISSUING_KEY,
    CertificateAuthority,
    _aki,
    _builder,
    _key_usage,
    _load_authority,
    serial_hex,
)
from backend.signing.errors import InvalidPdf, SigningError
from backend.signing.pades import sign_field

__all__ = ["PLATFORM_FILE", "RENEW_BEFORE", "PlatformSigner"]

PLATFORM_FILE = "platform.pem"
PLATFORM_LIFETIME = timedelta(days=365 * 2)
RENEW_BEFORE = timedelta(days=30)
PLATFORM_FIELD = "SignLinkPlatformSeal"


@dataclass(frozen=True)
class PlatformSigner:
    """The platform certificate and key, with the chain above it and the TSA to stamp with."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey
    chain: tuple[x509.Certificate, ...]
    """Issuing CA first, then the root."""
    timestamper: TimeStamper | None

    @property
    def serial_hex(self) -> str:
        return serial_hex(self.certificate.serial_number)

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @classmethod
    def load_or_create(
        cls, directory: Path, master_key: bytes, ca: CertificateAuthority
    ) -> PlatformSigner:
        """Load ``platform.pem`` from the CA directory, issuing or renewing it as needed."""
        path = directory / PLATFORM_FILE
        loaded = _load(path, master_key) if path.exists() else None
        now = datetime.now(UTC)
        if loaded is None or loaded[0].not_valid_after_utc - now < RENEW_BEFORE:
            issuing = _load_authority(directory, ISSUING_CERT, ISSUING_KEY, master_key)
            if issuing.certificate != ca.issuing_certificate:
                raise SigningError(f"{directory} does not hold the CA's issuing key")
            loaded = _issue(issuing.certificate, issuing.private_key, now)
            _store(path, loaded, master_key)
        certificate, key = loaded
        ca.register_issued(certificate)  # so OCSP answers good for it, not unknown
        return cls(
            certificate=certificate,
            private_key=key,
            chain=(ca.issuing_certificate, ca.root_certificate),
            timestamper=ca.tsa.timestamper(),
        )

    def sign_pdf(self, pdf: bytes, *, reason: str, location: str = "") -> bytes:
        """Certify ``pdf`` with an invisible platform signature (no later changes allowed)."""
        try:
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        except (PdfError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise InvalidPdf("the document is not a readable PDF") from exc
        try:
            return sign_field(
                writer,
                field_name=PLATFORM_FIELD,
                certificate=self,
                stamp_style=None,
                timestamper=self.timestamper,
                signed_at=datetime.now(UTC),
                certify=True,
                name=_common_name(self.certificate),
                reason=reason,
                location=location,
                permissions=fields.MDPPerm.NO_CHANGES,
                new_field=True,
            )
        except (PdfError, ValueError, OSError) as exc:
            raise SigningError(f"could not sign the platform document: {exc}") from exc

    async def async_sign_pdf(self, pdf: bytes, *, reason: str, location: str = "") -> bytes:
        return await asyncio.to_thread(self.sign_pdf, pdf, reason=reason, location=location)

    def chain_der(self) -> tuple[bytes, ...]:
        return tuple(
            c.public_bytes(serialization.Encoding.DER) for c in (self.certificate, *self.chain)
        )


def _common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def _issue(
    issuer: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    now: datetime,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    organisations = issuer.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    organisation = str(organisations[0].value) if organisations else "SignLink"
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{organisation} 电子签约平台"),
        ]
    )
    certificate = (
        _builder(
            subject,
            issuer.subject,
            key.public_key(),
            now - CLOCK_SKEW,
            min(now + PLATFORM_LIFETIME, issuer.not_valid_after_utc),
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
        .add_extension(_aki(issuer), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )
    return certificate, key


def _store(
    path: Path, pair: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], master_key: bytes
) -> None:
    """Replace ``path`` atomically: readers see the old pair or the new one, never half."""
    certificate, key = pair
    data = certificate.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(master_key),
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _load(
    path: Path, master_key: bytes
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    data = path.read_bytes()
    try:
        certificate = x509.load_pem_x509_certificate(data)
        key = serialization.load_pem_private_key(data, password=master_key)
    except (ValueError, TypeError):
        return None  # unreadable (or another master key): issue a new one
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != (
        certificate.public_key()
    ):
        return None
    return certificate, key
