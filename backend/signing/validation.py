"""Check every signature in a PDF against the given trust roots, as any PAdES validator would.

Revocation is checked in soft-fail mode with fetching disabled: a signature is not rejected
for lack of CRL/OCSP data. Once the CA publishes revocation information (and documents embed
it for B-LT), pass ``revocation_mode="hard-fail"``.

Time. A signature's RFC 3161 signature timestamp token (PAdES B-T) is verified first, at the
validation time (now, or ``at``): its message imprint must match the signature value, its
CMS signature must verify and the TSA certificate must chain to a trust root and carry the
timeStamping EKU. Only then is its ``genTime`` taken as proof that the signature existed at
that moment, and the signer's chain is validated *at that moment*, so a signature made with
a one-day event certificate stays trusted for as long as the TSA certificate is valid. The
``/M`` or ``signingTime`` the signer claims is never used for this. Without a verified
timestamp, the signer's chain is validated at the validation time itself.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.generic_cms import collect_timing_info
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import TimestampSignatureStatus
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
# A TSA clock may run slightly ahead of the validator's.
_TIMESTAMP_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class SignatureReport:
    """What a validator concludes about one signature field."""

    field_name: str
    signer_name: str
    """Common name in the signer certificate's subject."""
    signing_time: datetime | None
    """:attr:`timestamp_time` if there is one, else the time the signer claimed (unproven)."""
    intact: bool
    """The signed byte ranges still hash to the signed digest."""
    valid: bool
    """Cryptographically valid for this document: intact, the CMS signature verifies, and a
    signature timestamp token, if present, verifies and belongs to this signature.

    (pyHanko's own ``valid`` covers only the signature over the signed attributes, which
    stays true when the document bytes are altered.)"""
    trusted: bool
    """The signer certificate chains to one of the trust roots and was usable at the time
    the signature is proven to have existed (:attr:`timestamp_time`, else the validation
    time); a signature timestamp, if present, must come from a trusted TSA as well."""
    coverage: str
    """pyHanko's ``SignatureCoverageLevel`` name, e.g. ``ENTIRE_FILE``, ``ENTIRE_REVISION``."""
    modification_level: str
    """pyHanko's ``ModificationLevel`` name for changes made after this signature."""
    certificate_serial: str
    summary: str
    timestamp_time: datetime | None = None
    """The TSA's ``genTime`` from a verified, trusted signature timestamp token (PAdES B-T);
    ``None`` if the signature has no timestamp or its token does not verify."""


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
    at: datetime | None = None,
) -> ValidationReport:
    """Validate every signature in ``pdf``. Raises :class:`InvalidPdf` if it is not a PDF.

    ``at`` (timezone-aware) validates as if it were that moment instead of now, e.g. to
    check that a B-T signature will still be trusted after its event certificate expired.

    Blocking. Safe to call from a thread that runs an event loop (the loop then waits);
    async code should prefer :func:`async_validate_pdf`.
    """
    if at is not None and at.utcoffset() is None:
        raise ValueError("validate_pdf(at=...) must be timezone-aware")
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_validate(pdf, trust_roots, revocation_mode, at))
    # pyHanko's validator is async; a nested asyncio.run() needs a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(
            lambda: asyncio.run(_validate(pdf, trust_roots, revocation_mode, at))
        ).result()


async def async_validate_pdf(
    pdf: bytes,
    trust_roots: Sequence[x509.Certificate],
    *,
    revocation_mode: RevocationMode = "soft-fail",
    at: datetime | None = None,
) -> ValidationReport:
    """:func:`validate_pdf` in a worker thread (the checks are CPU-bound)."""
    return await asyncio.to_thread(
        validate_pdf, pdf, trust_roots, revocation_mode=revocation_mode, at=at
    )


@dataclass(frozen=True)
class _Contexts:
    roots: tuple[asn1_x509.Certificate, ...]
    revocation_mode: RevocationMode
    at: datetime | None

    def at_moment(self, moment: datetime | None) -> ValidationContext:
        """A fresh context validating at ``moment`` (``None``: the current time)."""
        return ValidationContext(
            trust_roots=list(self.roots),
            allow_fetching=False,
            revocation_mode=self.revocation_mode,
            moment=moment,
        )


async def _validate(
    pdf: bytes,
    trust_roots: Sequence[x509.Certificate],
    revocation_mode: RevocationMode,
    at: datetime | None,
) -> ValidationReport:
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_regular_signatures)
    except (PdfError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise InvalidPdf("the document is not a readable PDF") from exc
    contexts = _Contexts(
        roots=tuple(
            asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
            for c in trust_roots
        ),
        revocation_mode=revocation_mode,
        at=at,
    )
    reports = [await _report(signature, contexts) for signature in embedded]
    return ValidationReport(signatures=tuple(reports))


async def _proven_time(signature: EmbeddedPdfSignature, contexts: _Contexts) -> datetime | None:
    """The genTime of the signature timestamp token, if the token verifies and is trusted."""
    timing = await collect_timing_info(
        signature.signer_info,
        contexts.at_moment(contexts.at),
        raw_digest=signature.compute_digest,
    )
    token = timing.get("timestamp_validity")
    if not isinstance(token, TimestampSignatureStatus) or not _token_ok(token):
        return None
    proven = token.timestamp
    if proven > (contexts.at or datetime.now(UTC)) + _TIMESTAMP_TOLERANCE:
        return None  # a token from the future proves nothing yet
    return proven


def _token_ok(token: TimestampSignatureStatus | None) -> bool:
    return token is not None and token.intact and token.valid and token.trusted


async def _report(signature: EmbeddedPdfSignature, contexts: _Contexts) -> SignatureReport:
    try:
        field_name = str(signature.field_name)
    except Exception:  # a field dictionary without /T
        field_name = ""
    try:
        proven = await _proven_time(signature, contexts)
        # The signer's chain is judged when the signature provably existed; the
        # timestamp's own chain (again) at the validation time.
        status = await async_validate_pdf_signature(
            signature,
            signer_validation_context=contexts.at_moment(proven or contexts.at),
            ts_validation_context=contexts.at_moment(contexts.at),
        )
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
    token = status.timestamp_validity
    if token is not None and (not _token_ok(token) or token.timestamp != proven):
        proven = None
    token_sound = token is None or (token.intact and token.valid)
    token_trusted = token is None or proven is not None
    return SignatureReport(
        field_name=field_name,
        signer_name=_common_name(status.signing_cert),
        signing_time=proven or status.signer_reported_dt,
        intact=status.intact,
        valid=status.intact and status.valid and token_sound,
        trusted=status.trusted and token_trusted,
        coverage=status.coverage.name if status.coverage is not None else UNKNOWN,
        modification_level=(
            status.modification_level.name if status.modification_level is not None else UNKNOWN
        ),
        certificate_serial=serial_hex(status.signing_cert.serial_number),
        summary=status.summary(),
        timestamp_time=proven,
    )


def _common_name(cert: asn1_x509.Certificate) -> str:
    return str(cert.subject.native.get("common_name", ""))


def _safe_signer_name(signature: EmbeddedPdfSignature) -> str:
    try:
        return _common_name(signature.signer_cert)
    except Exception:  # the CMS blob itself may be unreadable
        return ""
