"""Check every signature in a PDF against the given trust roots, as any PAdES validator would.

Revocation is checked in soft-fail mode with fetching disabled: a signature is not rejected
for lack of CRL/OCSP data. Once the CA publishes revocation information (and documents embed
it for B-LT), pass ``revocation_mode="hard-fail"``.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from backend.signing.ca import serial_hex
from backend.signing.errors import InvalidPdf

__all__ = [
    "RevocationMode",
    "SignatureReport",
    "ValidationReport",
    "async_validate_pdf",
    "validate_pdf",
]

RevocationMode = Literal["soft-fail", "hard-fail", "require"]
UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class SignatureReport:
    """What a validator concludes about one signature field."""

    field_name: str
    signer_name: str
    """Common name in the signer certificate's subject."""
    signing_time: datetime | None
    """The timestamp token's time if there is one, else the time the signer claimed."""
    intact: bool
    """The signed byte ranges still hash to the signed digest."""
    valid: bool
    """Cryptographically valid for this document: intact, and the CMS signature verifies.

    (pyHanko's own ``valid`` covers only the signature over the signed attributes, which
    stays true when the document bytes are altered.)"""
    trusted: bool
    """The signer certificate chains to one of the trust roots and was usable."""
    coverage: str
    """pyHanko's ``SignatureCoverageLevel`` name, e.g. ``ENTIRE_FILE``, ``ENTIRE_REVISION``."""
    modification_level: str
    """pyHanko's ``ModificationLevel`` name for changes made after this signature."""
    certificate_serial: str
    summary: str


@dataclass(frozen=True)
class ValidationReport:
    signatures: tuple[SignatureReport, ...]

    @property
    def all_valid(self) -> bool:
        """True when there is at least one signature and every one is intact, valid, trusted."""
        return bool(self.signatures) and all(
            s.intact and s.valid and s.trusted for s in self.signatures
        )


def validate_pdf(
    pdf: bytes,
    trust_roots: Sequence[x509.Certificate],
    *,
    revocation_mode: RevocationMode = "soft-fail",
) -> ValidationReport:
    """Validate every signature in ``pdf``. Raises :class:`InvalidPdf` if it is not a PDF.

    Must not be called from a running event loop; use :func:`async_validate_pdf` there.
    """
    return asyncio.run(_validate(pdf, trust_roots, revocation_mode))


async def async_validate_pdf(
    pdf: bytes,
    trust_roots: Sequence[x509.Certificate],
    *,
    revocation_mode: RevocationMode = "soft-fail",
) -> ValidationReport:
    """:func:`validate_pdf` in a worker thread (the checks are CPU-bound)."""
    return await asyncio.to_thread(validate_pdf, pdf, trust_roots, revocation_mode=revocation_mode)


async def _validate(
    pdf: bytes, trust_roots: Sequence[x509.Certificate], revocation_mode: RevocationMode
) -> ValidationReport:
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_regular_signatures)
    except (PdfError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise InvalidPdf("the document is not a readable PDF") from exc
    roots = [
        asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in trust_roots
    ]
    reports = []
    for signature in embedded:
        context = ValidationContext(
            trust_roots=roots, allow_fetching=False, revocation_mode=revocation_mode
        )
        reports.append(await _report(signature, context))
    return ValidationReport(signatures=tuple(reports))


async def _report(signature: EmbeddedPdfSignature, context: ValidationContext) -> SignatureReport:
    try:
        field_name = str(signature.field_name)
    except Exception:  # a field dictionary without /T
        field_name = ""
    try:
        status = await async_validate_pdf_signature(signature, signer_validation_context=context)
    except Exception as exc:  # a mangled signature is a finding, not a crash
        return SignatureReport(
            field_name=field_name,
            signer_name=_safe_signer_name(signature),
            signing_time=None,
            intact=False,
            valid=False,
            trusted=False,
            coverage=UNKNOWN,
            modification_level=UNKNOWN,
            certificate_serial="",
            summary=f"INVALID: {type(exc).__name__}: {exc}",
        )
    return SignatureReport(
        field_name=field_name,
        signer_name=_common_name(status.signing_cert),
        signing_time=_signing_time(status),
        intact=status.intact,
        valid=status.intact and status.valid,
        trusted=status.trusted,
        coverage=status.coverage.name if status.coverage is not None else UNKNOWN,
        modification_level=(
            status.modification_level.name if status.modification_level is not None else UNKNOWN
        ),
        certificate_serial=serial_hex(status.signing_cert.serial_number),
        summary=status.summary(),
    )


def _signing_time(status: PdfSignatureStatus) -> datetime | None:
    if status.timestamp_validity is not None:
        return status.timestamp_validity.timestamp
    return status.signer_reported_dt


def _common_name(cert: asn1_x509.Certificate) -> str:
    return str(cert.subject.native.get("common_name", ""))


def _safe_signer_name(signature: EmbeddedPdfSignature) -> str:
    try:
        return _common_name(signature.signer_cert)
    except Exception:  # the CMS blob itself may be unreadable
        return ""
