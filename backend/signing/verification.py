"""What anyone who uploads a signed PDF is told about it: one verdict per signature.

:func:`verify_document` wraps :func:`validate_pdf` for people rather than programs: it
refuses what is not a readable, unencrypted PDF with a :class:`InvalidPdf` subclass whose
message can be shown as is, and turns each signature's status into a verdict (``ok``,
``warn``, ``error``) with the reason in Chinese: who signed, when the TSA says, whether the
chain is trusted, whether the signed bytes are intact, what changed after the signature
(pyHanko's difference analysis) and the long-term level. Foreign or broken signatures are
findings in the report, never exceptions.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader

from backend.signing.errors import EncryptedPdf, InvalidPdf, PdfTooLarge
from backend.signing.validation import LtvLevel, SignatureReport, validate_pdf

__all__ = [
    "DEFAULT_MAX_VERIFY_BYTES",
    "SignatureVerdict",
    "VerifyReport",
    "async_verify_document",
    "verify_document",
]

DEFAULT_MAX_VERIFY_BYTES = 20 * 1024 * 1024


def N_(message: str) -> str:
    """Marks a message for the page catalogues (Babel's keyword); pages translate it."""
    return message


def _too_large_message(max_bytes: int) -> str:
    mb = max_bytes // (1024 * 1024)
    return N_("文件超过 %(mb)s MB，无法验证。请上传更小的 PDF。") % {"mb": mb}


# pyHanko's ModificationLevel names, worded for the person reading the report.
_CHANGES = {
    "NONE": N_("签署后文件未被改动。"),
    "LTA_UPDATES": N_("签署后仅追加了长期验证数据或文档时间戳（允许）。"),
    "FORM_FILLING": N_("签署后有后续签名或表单填写（允许）。"),
    "ANNOTATIONS": N_("签署后添加或修改了注释（批注、图章等）。"),
    "OTHER": N_("签署后文件内容被修改（例如页面被替换、调换或改写）。"),
}
_LTV = {
    "B-B": N_("基础签名（无时间戳），证书过期后无法验证。"),
    "B-T": N_("带可信时间戳（PAdES B-T）。"),
    "B-LT": N_("已内嵌证书与吊销信息（PAdES B-LT），可离线长期验证。"),
    "B-LTA": N_("已内嵌验证数据并加盖文档时间戳（PAdES B-LTA），可离线长期验证。"),
}


@dataclass(frozen=True)
class SignatureVerdict:
    """One signature as the verify page and ``POST /api/v1/verify`` show it."""

    field_name: str
    signer_name: str
    signer_organisation: str
    timestamp_time: datetime | None
    """When the TSA proves the signature existed (``None``: no trusted timestamp)."""
    claimed_time: datetime | None
    """The time the signer's software wrote into the signature (not proof)."""
    trusted: bool
    """The certificate chain leads to a trusted root and was valid when it signed."""
    intact: bool
    """The bytes this signature covers are unchanged and its cryptography verifies."""
    modified_after: bool
    """The file was extended after this signature (later revisions exist)."""
    changes: str
    """pyHanko's modification level for those later changes, e.g. ``FORM_FILLING``."""
    changes_allowed: bool
    """Later changes are of a kind a signed document may receive (signatures, form
    filling, validation data) and, for a certifying signature, allowed by its DocMDP."""
    certified: bool
    ltv: LtvLevel
    certificate_serial: str
    status: str
    """``ok``, ``warn`` (valid, but untrusted or weakly timed) or ``error``."""
    message: str
    """Zh-CN summary of the verdict."""
    changes_message: str
    ltv_message: str


@dataclass(frozen=True)
class VerifyReport:
    signatures: tuple[SignatureVerdict, ...]
    revisions: int
    level: LtvLevel | None
    status: str
    """``ok`` when every signature is ``ok``; ``error`` when any is; else ``warn``."""
    message: str


def verify_document(
    pdf: bytes,
    trust_roots: Sequence[x509.Certificate],
    *,
    at: datetime | None = None,
    max_bytes: int = DEFAULT_MAX_VERIFY_BYTES,
) -> VerifyReport:
    """Check every signature in ``pdf`` against ``trust_roots`` and explain the result.

    Raises :class:`PdfTooLarge`, :class:`EncryptedPdf` or :class:`InvalidPdf` (all with a
    message fit to show) for input that cannot be checked. Blocking.
    """
    _check_readable(pdf, max_bytes)
    report = validate_pdf(pdf, trust_roots, at=at)
    verdicts = tuple(_verdict(s) for s in report.signatures)
    if not verdicts:
        status, message = "warn", N_("该 PDF 不含任何数字签名。")
    elif all(v.status == "ok" for v in verdicts):
        status = "ok"
        message = N_("全部 %(count)s 个签名有效，签署后文件未被篡改。") % {"count": len(verdicts)}
    elif any(v.status == "error" for v in verdicts):
        status, message = "error", N_("有签名无效或文件在签署后被篡改，请勿信任该文件。")
    else:
        status, message = "warn", N_("签名完整，但有签名无法确认来源或时间，请核实。")
    return VerifyReport(
        signatures=verdicts,
        revisions=report.revisions,
        level=report.level,
        status=status,
        message=message,
    )


async def async_verify_document(
    pdf: bytes,
    trust_roots: Sequence[x509.Certificate],
    *,
    at: datetime | None = None,
    max_bytes: int = DEFAULT_MAX_VERIFY_BYTES,
) -> VerifyReport:
    """:func:`verify_document` in a worker thread."""
    return await asyncio.to_thread(verify_document, pdf, trust_roots, at=at, max_bytes=max_bytes)


def _check_readable(pdf: bytes, max_bytes: int) -> None:
    if len(pdf) > max_bytes:
        raise PdfTooLarge(_too_large_message(max_bytes))
    if b"%PDF-" not in pdf[:1024]:
        raise InvalidPdf(N_("上传的文件不是 PDF，请选择签署完成后下载的 PDF 文件。"))
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        encrypted = reader.encrypted
        if not encrypted:
            reader.root  # noqa: B018 - parses the catalog, the first thing a damaged file breaks
    except (PdfError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise InvalidPdf(N_("PDF 文件已损坏，无法读取。请重新下载原文件后再试。")) from exc
    if encrypted:
        raise EncryptedPdf(N_("该 PDF 已加密（设有密码），无法验证签名。请上传未加密的文件。"))


def _verdict(s: SignatureReport) -> SignatureVerdict:
    modified_after = s.coverage not in ("ENTIRE_FILE", "UNKNOWN")
    level = s.modification_level
    allowed = level in ("NONE", "LTA_UPDATES", "FORM_FILLING") and s.docmdp_ok is not False
    intact = s.intact and s.valid
    if not intact:
        status = "error"
        message = N_("签名无效：签名所覆盖的内容已被篡改或签名数据损坏。")
    elif not allowed:
        status = "error"
        message = N_("签名本身完整，但签署后文件被做了不允许的修改。")
    elif not s.trusted:
        status = "warn"
        message = N_("签名完整，但签名证书不是由受信任的机构签发（或已过期、被吊销）。")
    elif s.timestamp_time is None:
        status = "warn"
        message = N_("签名有效，但没有可信时间戳，签署时间无法证明。")
    else:
        status = "ok"
        message = N_("签名有效：证书可信，签署后未被篡改。")
    return SignatureVerdict(
        field_name=s.field_name,
        signer_name=s.signer_name,
        signer_organisation=s.signer_organisation,
        timestamp_time=s.timestamp_time,
        claimed_time=s.signing_time if s.timestamp_time is None else None,
        trusted=s.trusted,
        intact=intact,
        modified_after=modified_after,
        changes=level,
        changes_allowed=allowed,
        certified=s.certified,
        ltv=s.ltv,
        certificate_serial=s.certificate_serial,
        status=status,
        message=message,
        changes_message=(
            _CHANGES.get(level, N_("无法判断签署后的改动。"))
            if modified_after or level != "UNKNOWN"
            else N_("签署后文件未被改动。")
        ),
        ltv_message=_LTV[s.ltv],
    )
