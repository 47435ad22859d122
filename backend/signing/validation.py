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

Long-term level (:attr:`SignatureReport.ltv`). A document with a DSS is also put through
pyHanko's ETSI EN 319 102-1 long-term (LTA) validation, offline, with revocation data
*required* for the signer's chain: it passes only on the CRLs/OCSP responses embedded in
the document, judged at the time the oldest later document timestamp proves they
existed. B-LTA = that passed thanks to a document timestamp; B-LT = passed on the
embedded data alone; B-T = signature timestamp only; B-B = none. The newest document
timestamp's own certificate is checked for validity and trust, not for revocation, since
that cannot be known offline (refresh it with ``make_long_term`` before it expires).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.generic_cms import collect_timing_info
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager

from backend.signing.ca import serial_hex
from backend.signing.errors import InvalidPdf

__all__ = [
    "LTV_LEVELS",
    "LtvLevel",
    "RevocationMode",
    "SignatureReport",
    "ValidationReport",
    "async_validate_pdf",
    "run_blocking",
    "validate_pdf",
]

T = TypeVar("T")
RevocationMode = Literal["soft-fail", "hard-fail", "require"]
LtvLevel = Literal["B-B", "B-T", "B-LT", "B-LTA"]
LTV_LEVELS: tuple[LtvLevel, ...] = ("B-B", "B-T", "B-LT", "B-LTA")
"""Weakest first."""
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
    ltv: LtvLevel = "B-B"
    """The PAdES level this signature verifiably reaches now (see the module docstring)."""
    ltv_detail: str = ""
    """Why long-term validation did not reach B-LT, when the document has a DSS."""
    archive_timestamp_time: datetime | None = None
    """Time of the oldest document timestamp after this signature (B-LTA)."""
    certified: bool = False
    """A certification (DocMDP) signature rather than an approval signature."""
    docmdp_ok: bool | None = None
    """Every change after this signature is allowed by the document's DocMDP permissions
    (``None``: could not be judged)."""
    signer_organisation: str = ""
    """Organisation name in the signer certificate's subject."""
    signed_revision: int = -1
    """Index of the PDF revision this signature closes (0 = first)."""


@dataclass(frozen=True)
class ValidationReport:
    signatures: tuple[SignatureReport, ...]
    revisions: int = 0
    """Number of revisions (incremental updates) in the file."""

    @property
    def level(self) -> LtvLevel | None:
        """The weakest :attr:`SignatureReport.ltv` of all signatures (``None``: unsigned)."""
        if not self.signatures:
            return None
        return min((s.ltv for s in self.signatures), key=LTV_LEVELS.index)

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
    return run_blocking(_validate(pdf, trust_roots, revocation_mode, at))


def run_blocking(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run pyHanko's async API to completion, also from a thread that runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    # A nested asyncio.run() needs a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


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
    try:
        revisions = reader.xrefs.total_revisions
    except Exception:  # a damaged cross-reference history
        revisions = 0
    return ValidationReport(signatures=tuple(reports), revisions=revisions)


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
    sound = status.intact and status.valid and token_sound
    ltv: LtvLevel = "B-T" if proven is not None else "B-B"
    ltv_detail, archived = "", None
    if ltv == "B-T" and sound and status.trusted and _has_dss(signature):
        ltv, ltv_detail, archived = await _long_term_level(signature, contexts)
    docmdp_ok = getattr(status, "docmdp_ok", None)
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
        ltv=ltv,
        ltv_detail=ltv_detail,
        archive_timestamp_time=archived,
        certified=signature.docmdp_level is not None,
        docmdp_ok=docmdp_ok,
        signer_organisation=str(status.signing_cert.subject.native.get("organization_name", "")),
        signed_revision=signature.signed_revision,
    )


def _has_dss(signature: EmbeddedPdfSignature) -> bool:
    try:
        return "/DSS" in signature.reader.root
    except Exception:  # a damaged catalog
        return False


def _policy(
    roots: Sequence[asn1_x509.Certificate], rule: RevocationCheckingRule
) -> CertValidationPolicySpec:
    return CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(list(roots)),
        revinfo_policy=CertRevTrustPolicy(
            RevocationCheckingPolicy(ee_certificate_rule=rule, intermediate_ca_cert_rule=rule)
        ),
    )


async def _long_term_level(
    signature: EmbeddedPdfSignature, contexts: _Contexts
) -> tuple[LtvLevel, str, datetime | None]:
    """``(level, why not better, oldest document timestamp)`` from an offline LTA validation."""
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=_policy(
                contexts.roots, RevocationCheckingRule.CRL_OR_OCSP_REQUIRED
            ),
            ts_cert_validation_policy=_policy(contexts.roots, RevocationCheckingRule.NO_CHECK),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
        )
    )
    moment = contexts.at or datetime.now(UTC)
    timing = ValidationTimingInfo(
        validation_time=moment,
        best_signature_time=moment,
        point_in_time_validation=contexts.at is not None,
    )
    try:
        result = await ades_lta_validation(signature, spec, timing_info=timing)
    except Exception as exc:  # pyHanko raises for a broken evidence chain
        return "B-T", f"long-term validation failed: {exc}", None
    if result.ades_subindic.status.name != "PASSED":
        return "B-T", result.failure_msg or str(result.ades_subindic), None
    archived = result.oldest_evidence_record_timestamp
    return ("B-LTA" if archived is not None else "B-LT"), "", archived


def _common_name(cert: asn1_x509.Certificate) -> str:
    return str(cert.subject.native.get("common_name", ""))


def _safe_signer_name(signature: EmbeddedPdfSignature) -> str:
    try:
        return _common_name(signature.signer_cert)
    except Exception:  # the CMS blob itself may be unreadable
        return ""
