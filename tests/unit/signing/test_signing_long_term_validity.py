"""B-LT and B-LTA: validation data and a document timestamp, validating offline years later."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backend.signing import (
    CertificateAuthority,
    SignedRevision,
    SigningError,
    SigningIntent,
    async_make_long_term,
    make_long_term,
    sign_intent,
    validate_pdf,
)

MakeIntent = Callable[..., SigningIntent]
PdfSig = Callable[[bytes], list[str]]
THREE_YEARS = timedelta(days=3 * 365)


@pytest.fixture(scope="module")
def archived(signed_by_three: list[SignedRevision], ca: CertificateAuthority) -> bytes:
    return make_long_term(signed_by_three[-1].pdf, ca)


def test_long_term_document_reports_b_lta(archived: bytes, ca: CertificateAuthority) -> None:
    report = validate_pdf(archived, [ca.root_certificate])

    assert report.all_valid
    assert report.level == "B-LTA"
    for signature in report.signatures:
        assert signature.ltv == "B-LTA", signature.ltv_detail
        assert signature.archive_timestamp_time is not None


def test_b_lta_validates_offline_after_every_short_lived_item_expired(
    archived: bytes, signed_by_three: list[SignedRevision], ca: CertificateAuthority
) -> None:
    later = datetime.now(UTC) + THREE_YEARS  # event certificates, CRLs, OCSP all expired

    lta = validate_pdf(archived, [ca.root_certificate], at=later)
    bt = validate_pdf(signed_by_three[-1].pdf, [ca.root_certificate], at=later)

    assert lta.all_valid and lta.level == "B-LTA"
    assert bt.level == "B-T"


def test_long_term_update_is_an_allowed_change_for_every_signature(
    archived: bytes, signed_by_three: list[SignedRevision], ca: CertificateAuthority, pdfsig: PdfSig
) -> None:
    assert archived.startswith(signed_by_three[-1].pdf)
    report = validate_pdf(archived, [ca.root_certificate])
    assert [s.docmdp_ok for s in report.signatures] == [True, True, True]
    assert report.signatures[-1].modification_level == "LTA_UPDATES"
    assert pdfsig(archived)[:3] == ["Signature is Valid."] * 3


def test_b_t_documents_report_b_t(signed_by_both: SignedRevision, ca: CertificateAuthority) -> None:
    report = validate_pdf(signed_by_both.pdf, [ca.root_certificate])
    assert report.level == "B-T"
    assert {s.ltv for s in report.signatures} == {"B-T"}


def test_a_revoked_signer_is_not_archived(
    contract_pdf: bytes, make_intent: MakeIntent, tmp_path: Path, master_key: bytes
) -> None:
    ca = CertificateAuthority.load_or_create(tmp_path, master_key, public_url="https://x.test")
    signed = sign_intent(contract_pdf, make_intent(contract_pdf), ca)
    ca.revoke(signed.certificate_serial, "key_compromise")

    with pytest.raises(SigningError, match="revoked"):
        make_long_term(signed.pdf, ca)


def test_foreign_signatures_and_unsigned_documents_are_refused(
    signed_by_both: SignedRevision, contract_pdf: bytes, tmp_path: Path, master_key: bytes
) -> None:
    other = CertificateAuthority.load_or_create(tmp_path, master_key)
    with pytest.raises(SigningError):
        make_long_term(signed_by_both.pdf, other)
    with pytest.raises(SigningError, match="no signatures"):
        make_long_term(contract_pdf, other)


async def test_async_twin(signed_by_both: SignedRevision, ca: CertificateAuthority) -> None:
    pdf = await async_make_long_term(signed_by_both.pdf, ca)
    assert validate_pdf(pdf, [ca.root_certificate]).level == "B-LTA"
