"""Golden three-signer document: the first signature certifies (DocMDP P=2), the others
are approval signatures in incremental updates; pyHanko and poppler accept all three."""

from __future__ import annotations

from collections.abc import Callable

from pyhanko.pdf_utils.reader import PdfFileReader

from backend.signing import CertificateAuthority, SignedRevision, validate_pdf

PdfSig = Callable[[bytes], list[str]]
PDFSIG_VALID = "Signature is Valid."


def _reader(pdf: bytes) -> PdfFileReader:
    import io

    return PdfFileReader(io.BytesIO(pdf), strict=False)


def test_first_signature_certifies_with_form_filling_allowed(
    signed_by_three: list[SignedRevision],
) -> None:
    signatures = _reader(signed_by_three[-1].pdf).embedded_regular_signatures
    first, second, third = signatures

    assert first.docmdp_level is not None and first.docmdp_level.value == 2
    assert second.docmdp_level is None and third.docmdp_level is None


def test_each_signature_is_an_incremental_update(
    three_party_pdf: bytes, signed_by_three: list[SignedRevision]
) -> None:
    previous = three_party_pdf
    for revision in signed_by_three:
        assert revision.pdf.startswith(previous)
        previous = revision.pdf


def test_after_the_third_signer_the_first_two_are_intact_with_allowed_changes(
    signed_by_three: list[SignedRevision], ca: CertificateAuthority
) -> None:
    report = validate_pdf(signed_by_three[-1].pdf, [ca.root_certificate])

    assert report.all_valid
    buyer, dealer, carrier = report.signatures
    assert [s.signer_name for s in report.signatures] == ["张三", "李四", "王五"]
    assert buyer.certified and not dealer.certified and not carrier.certified
    for earlier in (buyer, dealer):
        assert earlier.intact and earlier.coverage == "ENTIRE_REVISION"
        assert earlier.modification_level == "FORM_FILLING"
        assert earlier.docmdp_ok is True
    assert carrier.coverage == "ENTIRE_FILE"
    assert carrier.modification_level == "NONE"


def test_poppler_accepts_all_three(signed_by_three: list[SignedRevision], pdfsig: PdfSig) -> None:
    assert pdfsig(signed_by_three[-1].pdf) == [PDFSIG_VALID] * 3
