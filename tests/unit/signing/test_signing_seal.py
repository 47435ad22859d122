"""Company seals: the generated round seal, uploads, seal signatures and the 骑缝章."""

from __future__ import annotations

import io
from collections.abc import Callable

import pypdfium2 as pdfium
import pytest
from PIL import Image

from backend.signing import (
    CertificateAuthority,
    InvalidSeal,
    SignedRevision,
    SigningError,
    SigningIntent,
    generate_round_seal,
    reserve_cross_page_seal,
    seal_image,
    sign_intent,
    sign_seal,
    validate_pdf,
)

ORG = "北京演示汽车销售服务有限公司"
MakeIntent = Callable[..., SigningIntent]
PdfSig = Callable[[bytes], list[str]]


def red_fraction(image: Image.Image) -> float:
    rgb = image.convert("RGB")
    pixels = list(rgb.get_flattened_data())
    red = sum(1 for r, g, b in pixels if r > 180 and g < 110 and b < 110)
    return red / len(pixels)


def render(pdf: bytes, page: int) -> Image.Image:
    document = pdfium.PdfDocument(pdf)
    document.init_forms()
    return document[page].render(scale=1, may_draw_forms=True).to_pil()


@pytest.fixture(scope="module")
def seal_png() -> bytes:
    return generate_round_seal(ORG, size_px=400)


@pytest.fixture(scope="module")
def sealed(contract_pdf: bytes, seal_png: bytes, ca: CertificateAuthority) -> SignedRevision:
    organisation = ca.issue_organisation_certificate(ORG, "5f2b9c0e41d7a3b8")
    return sign_seal(contract_pdf, "sig_dealer", seal_png, organisation, ca, cross_page=True)


def test_generated_seal_is_red_round_and_transparent(seal_png: bytes) -> None:
    seal = Image.open(io.BytesIO(seal_png))
    assert seal.format == "PNG" and seal.mode == "RGBA" and seal.size == (400, 400)
    assert seal.getpixel((5, 5))[3] == 0  # corner outside the ring
    assert seal.getpixel((200, 200))[3] == 255  # the star's centre
    ink = [p for p in seal.get_flattened_data() if p[3] > 200]
    assert all(p[0] > 200 and p[1] < 40 and p[2] < 60 for p in ink)
    # Ring: opaque at the top, left and right edges, about 1 % inside the border.
    for x, y in ((200, 12), (12, 200), (388, 200)):
        assert seal.getpixel((x, y))[3] > 128


def test_a_seal_needs_a_name(seal_png: bytes) -> None:
    with pytest.raises(InvalidSeal):
        generate_round_seal("  ")


def test_uploaded_seals_are_checked(seal_png: bytes) -> None:
    jpeg = io.BytesIO()
    Image.new("RGB", (200, 200), "red").save(jpeg, format="JPEG")
    blank = io.BytesIO()
    Image.new("RGBA", (200, 200), (255, 255, 255, 0)).save(blank, format="PNG")
    scanned = io.BytesIO()
    paper = Image.new("RGB", (400, 400), "white")
    paper.paste(Image.open(io.BytesIO(seal_png)), (0, 0), Image.open(io.BytesIO(seal_png)))
    paper.save(scanned, format="PNG")

    for bad in (b"not an image", jpeg.getvalue(), blank.getvalue()):
        with pytest.raises(InvalidSeal):
            seal_image(bad)
    cleaned = seal_image(scanned.getvalue())
    assert cleaned.getpixel((5, 5))[3] == 0  # white paper made transparent


def test_seal_signature_names_the_organisation_and_certifies(
    sealed: SignedRevision, ca: CertificateAuthority, pdfsig: PdfSig
) -> None:
    report = validate_pdf(sealed.pdf, [ca.root_certificate])

    assert report.all_valid
    seal, *slices = report.signatures
    assert seal.signer_name == ORG and seal.signer_organisation == ORG
    assert seal.certified and seal.timestamp_time is not None
    # The cross-page slices: one signature per page, by the same organisation.
    assert [s.signer_name for s in slices] == [ORG, ORG]
    assert pdfsig(sealed.pdf) == ["Signature is Valid."] * 3


def test_seal_is_visible_in_its_field(sealed: SignedRevision) -> None:
    page = render(sealed.pdf, 1)  # sig_dealer: (320, 100)-(520, 170) on page 2
    field = page.crop((320, page.height - 170, 520, page.height - 100))
    assert red_fraction(field) > 0.05


def test_cross_page_seal_slices_sit_on_the_right_edge_of_every_page(
    sealed: SignedRevision,
) -> None:
    for index in (0, 1):
        page = render(sealed.pdf, index)
        edge = page.crop(
            (page.width - 60, page.height // 2 - 60, page.width, page.height // 2 + 60)
        )
        middle = page.crop((200, page.height // 2 - 60, 260, page.height // 2 + 60))
        assert red_fraction(edge) > 0.05
        assert red_fraction(middle) == 0


def test_cross_page_slices_are_signed_and_cover_the_whole_file(
    sealed: SignedRevision, ca: CertificateAuthority
) -> None:
    signatures = validate_pdf(sealed.pdf, [ca.root_certificate]).signatures
    assert [s.field_name for s in signatures] == [
        "sig_dealer",
        "sig_dealer-cross-page-1",
        "sig_dealer-cross-page-2",
    ]
    assert all(s.intact and s.docmdp_ok is not False for s in signatures)
    assert signatures[-1].coverage == "ENTIRE_FILE"


def test_later_signers_keep_the_seal_valid(
    sealed: SignedRevision, make_intent: MakeIntent, ca: CertificateAuthority
) -> None:
    signed = sign_intent(sealed.pdf, make_intent(sealed.pdf), ca)
    report = validate_pdf(signed.pdf, [ca.root_certificate])
    assert report.all_valid
    assert report.signatures[0].docmdp_ok is True


def test_cross_page_seal_after_a_certification_needs_reserved_fields(
    signed_by_buyer: SignedRevision, seal_png: bytes, ca: CertificateAuthority
) -> None:
    organisation = ca.issue_organisation_certificate(ORG, "5f2b9c0e41d7a3b8")
    with pytest.raises(SigningError, match="reserve"):
        sign_seal(signed_by_buyer.pdf, "sig_dealer", seal_png, organisation, ca, cross_page=True)
    with pytest.raises(SigningError, match="before the first signature"):
        reserve_cross_page_seal(signed_by_buyer.pdf, "sig_dealer")
    # Without the cross-page option it is an ordinary approval seal.
    sealed = sign_seal(signed_by_buyer.pdf, "sig_dealer", seal_png, organisation, ca)
    assert validate_pdf(sealed.pdf, [ca.root_certificate]).all_valid


def test_cross_page_seal_between_two_signers(
    three_party_pdf: bytes,
    seal_png: bytes,
    make_intent: MakeIntent,
    ca: CertificateAuthority,
    pdfsig: PdfSig,
) -> None:
    """Buyer certifies, the dealer's seal with its 骑缝章 comes second, the carrier last."""
    prepared = reserve_cross_page_seal(three_party_pdf, "sig_dealer")
    buyer = sign_intent(prepared, make_intent(prepared), ca)
    organisation = ca.issue_organisation_certificate(ORG, "5f2b9c0e41d7a3b8")

    sealed = sign_seal(buyer.pdf, "sig_dealer", seal_png, organisation, ca, cross_page=True)
    last = sign_intent(
        sealed.pdf,
        make_intent(sealed.pdf, "sig_carrier", "王五", "carrier"),
        ca,
    )

    report = validate_pdf(last.pdf, [ca.root_certificate])
    assert report.all_valid
    assert [s.field_name for s in report.signatures] == [
        "sig_buyer",
        "sig_dealer",
        "sig_dealer-cross-page-1",
        "sig_dealer-cross-page-2",
        "sig_carrier",
    ]
    # The buyer's certification (P=2) still holds: intact, no disallowed modification.
    assert report.signatures[0].certified and report.signatures[0].docmdp_ok is True
    assert pdfsig(last.pdf) == ["Signature is Valid."] * 5
    for index in (0, 1):
        page = render(last.pdf, index)
        edge = page.crop(
            (page.width - 60, page.height // 2 - 60, page.width, page.height // 2 + 60)
        )
        assert red_fraction(edge) > 0.05
