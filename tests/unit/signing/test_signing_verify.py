"""verify_document: what a person is told about a signed PDF, including tampering."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import PdfFileWriter

from backend.signing import (
    CertificateAuthority,
    EncryptedPdf,
    InvalidPdf,
    PdfTooLarge,
    SignedRevision,
    SigningIntent,
    make_long_term,
    sign_intent,
    verify_document,
)

MakeIntent = Callable[..., SigningIntent]


def incremental(pdf: bytes, change: Callable[[IncrementalPdfFileWriter], None]) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def swap_pages(writer: IncrementalPdfFileWriter) -> None:
    pages_ref = writer.root.raw_get("/Pages")
    pages = pages_ref.get_object()
    pages["/Kids"] = generic.ArrayObject(reversed(list(pages["/Kids"])))
    writer.mark_update(pages_ref)


def add_note(writer: IncrementalPdfFileWriter) -> None:
    note = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name("/Text"),
            pdf_name("/Rect"): generic.ArrayObject(
                generic.NumberObject(v) for v in (300, 500, 320, 520)
            ),
            pdf_name("/Contents"): generic.TextStringObject("价格改为 1 元"),
        }
    )
    page_ref = next(iter(writer.root["/Pages"]["/Kids"]))  # iteration keeps the reference
    writer.register_annotation(page_ref, writer.add_object(note))


def test_a_good_document(signed_by_both: SignedRevision, ca: CertificateAuthority) -> None:
    report = verify_document(signed_by_both.pdf, [ca.root_certificate])

    assert report.status == "ok" and report.level == "B-T"
    buyer, dealer = report.signatures
    assert (buyer.signer_name, dealer.signer_name) == ("张三", "李四")
    assert buyer.trusted and buyer.intact and buyer.timestamp_time is not None
    assert buyer.modified_after and buyer.changes == "FORM_FILLING" and buyer.changes_allowed
    assert not dealer.modified_after and dealer.status == "ok"
    assert buyer.certified and not dealer.certified


def test_long_term_status_is_reported(
    signed_by_both: SignedRevision, ca: CertificateAuthority
) -> None:
    report = verify_document(make_long_term(signed_by_both.pdf, ca), [ca.root_certificate])
    assert report.status == "ok" and report.level == "B-LTA"
    assert all("B-LTA" in s.ltv_message for s in report.signatures)


def test_a_tampered_byte_is_detected(
    signed_by_both: SignedRevision, ca: CertificateAuthority
) -> None:
    pdf = signed_by_both.pdf
    at = pdf.index(b"contract page 1")
    tampered = pdf[:at] + b"C" + pdf[at + 1 :]

    report = verify_document(tampered, [ca.root_certificate])

    assert report.status == "error"
    assert all(not s.intact and s.status == "error" for s in report.signatures)


def test_a_swapped_page_is_detected(
    signed_by_both: SignedRevision, ca: CertificateAuthority
) -> None:
    report = verify_document(incremental(signed_by_both.pdf, swap_pages), [ca.root_certificate])

    assert report.status == "error"
    for s in report.signatures:
        assert s.intact  # the signed bytes are untouched...
        assert s.modified_after and not s.changes_allowed and s.changes == "OTHER"  # ...but


def test_an_added_annotation_is_detected(
    signed_by_both: SignedRevision, ca: CertificateAuthority
) -> None:
    report = verify_document(incremental(signed_by_both.pdf, add_note), [ca.root_certificate])

    assert report.status == "error"
    for s in report.signatures:
        # pyHanko's diff analysis sees the page object rewritten for the new /Annots entry.
        assert s.intact and s.changes in ("ANNOTATIONS", "OTHER") and not s.changes_allowed
        assert s.modified_after and "签署后" in s.changes_message


def test_foreign_signatures_are_reported_untrusted(
    contract_pdf: bytes,
    make_intent: MakeIntent,
    tmp_path: Path,
    master_key: bytes,
    ca: CertificateAuthority,
) -> None:
    foreign_ca = CertificateAuthority.load_or_create(tmp_path, master_key, organisation="Other")
    foreign = sign_intent(contract_pdf, make_intent(contract_pdf), foreign_ca).pdf

    report = verify_document(foreign, [ca.root_certificate])

    (signature,) = report.signatures
    assert report.status == "warn"
    assert signature.intact and not signature.trusted and signature.status == "warn"


def test_unsigned_pdf(contract_pdf: bytes, ca: CertificateAuthority) -> None:
    report = verify_document(contract_pdf, [ca.root_certificate])
    assert report.signatures == () and report.status == "warn"


def test_bad_input_gets_clear_errors(
    signed_by_both: SignedRevision, ca: CertificateAuthority
) -> None:
    roots = [ca.root_certificate]
    with pytest.raises(InvalidPdf, match="不是 PDF"):
        verify_document(b"PK\x03\x04 a zip file", roots)
    with pytest.raises(InvalidPdf, match="损坏"):
        verify_document(b"%PDF-1.7\n" + b"\x00garbage" * 100, roots)
    with pytest.raises(PdfTooLarge):
        verify_document(signed_by_both.pdf, roots, max_bytes=1024)
    with pytest.raises(EncryptedPdf):
        verify_document(encrypted_pdf(), roots)


def encrypted_pdf() -> bytes:
    from pyhanko.pdf_utils.crypt import StandardSecurityHandler
    from pyhanko.pdf_utils.writer import PageObject

    writer = PdfFileWriter()
    writer.insert_page(
        PageObject(
            contents=writer.add_object(generic.StreamObject(stream_data=b"")),
            media_box=(0, 0, 100, 100),
        )
    )
    writer.security_handler = StandardSecurityHandler.build_from_pw("secret")
    writer._encrypt = writer.add_object(writer.security_handler.as_pdf_object())
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
