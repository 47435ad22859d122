"""A real PKI, a two-page contract with empty signature fields, and a drawn signature."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from pyhanko.sign.fields import SigFieldSpec, append_signature_field

from backend.signing import CertificateAuthority, SignedRevision, SigningIntent, sign_intent

MASTER_KEY = b"unit-test master key, 32+ characters long"
PUBLIC_URL = "https://sign.example.test"
A4 = (0, 0, 595, 842)
BUYER_BOX = (60, 100, 260, 170)
DEALER_BOX = (320, 100, 520, 170)
CARRIER_BOX = (60, 100, 260, 170)
PAGE_TEXT = "SignLink test contract page {n}"

MakeIntent = Callable[..., SigningIntent]
PdfSig = Callable[[bytes], list[str]]


@pytest.fixture(scope="session")
def ca_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pki")


@pytest.fixture(scope="session")
def master_key() -> bytes:
    return MASTER_KEY


@pytest.fixture(scope="session")
def ca(ca_dir: Path) -> CertificateAuthority:
    return CertificateAuthority.load_or_create(
        ca_dir, MASTER_KEY, organisation="SignLink Test", public_url=PUBLIC_URL
    )


@pytest.fixture
def pdfsig(tmp_path: Path) -> PdfSig:
    """poppler's verdict per signature, in file order (cryptographic check, not trust)."""
    executable = shutil.which("pdfsig")
    if executable is None:
        pytest.fail("pdfsig not found: install poppler-utils (apt-get install -y poppler-utils)")

    def verdicts(pdf: bytes) -> list[str]:
        path = tmp_path / "document.pdf"
        path.write_bytes(pdf)
        result = subprocess.run(
            [executable, "-nocert", str(path)], capture_output=True, text=True, check=True
        )
        prefix = "- Signature Validation:"
        return [
            line.strip().removeprefix(prefix).strip()
            for line in result.stdout.splitlines()
            if line.strip().startswith(prefix)
        ]

    return verdicts


@pytest.fixture(scope="session")
def field_boxes() -> dict[str, tuple[int, int, int, int]]:
    """Signature field rectangles (PDF user space, origin bottom left) by field name."""
    return {"sig_buyer": BUYER_BOX, "sig_dealer": DEALER_BOX}


def _contract_pdf(field_count: int = 2) -> bytes:
    writer = PdfFileWriter(stream_xrefs=False)
    font = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Font"),
            pdf_name("/Subtype"): pdf_name("/Type1"),
            pdf_name("/BaseFont"): pdf_name("/Helvetica"),
        }
    )
    resources = generic.DictionaryObject(
        {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): writer.add_object(font)})}
    )
    for n in (1, 2):
        text = PAGE_TEXT.format(n=n).encode()
        # Uncompressed on purpose: tests flip a byte of this text to tamper with the file.
        stream = generic.StreamObject(stream_data=b"BT /F1 18 Tf 60 760 Td (%s) Tj ET" % text)
        page = PageObject(contents=writer.add_object(stream), media_box=A4, resources=resources)
        writer.insert_page(page)
    append_signature_field(writer, SigFieldSpec("sig_buyer", on_page=0, box=BUYER_BOX))
    append_signature_field(writer, SigFieldSpec("sig_dealer", on_page=1, box=DEALER_BOX))
    if field_count == 3:
        append_signature_field(writer, SigFieldSpec("sig_carrier", on_page=1, box=CARRIER_BOX))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="session")
def three_party_pdf() -> bytes:
    """Like :func:`contract_pdf` plus an empty field sig_carrier on page 2."""
    return _contract_pdf(field_count=3)


@pytest.fixture(scope="session")
def signed_by_three(
    three_party_pdf: bytes, make_intent: MakeIntent, ca: CertificateAuthority
) -> list[SignedRevision]:
    """The three revisions of a waybill signed by buyer, dealer and carrier in turn."""
    revisions: list[SignedRevision] = []
    pdf = three_party_pdf
    for field, name, role in (
        ("sig_buyer", "张三", "buyer"),
        ("sig_dealer", "李四", "dealer"),
        ("sig_carrier", "王五", "carrier"),
    ):
        revisions.append(sign_intent(pdf, make_intent(pdf, field, name, role), ca))
        pdf = revisions[-1].pdf
    return revisions


@pytest.fixture(scope="session")
def contract_pdf() -> bytes:
    """Two A4 pages; empty fields sig_buyer (page 1) and sig_dealer (page 2)."""
    return _contract_pdf()


def draw_handwriting(*, transparent: bool = False) -> bytes:
    """A few pen strokes as a phone signature pad would send them (600x200 PNG)."""
    mode, paper = ("RGBA", (255, 255, 255, 0)) if transparent else ("RGB", (255, 255, 255))
    image = Image.new(mode, (600, 200), paper)
    pen = ImageDraw.Draw(image)
    ink = (20, 20, 60)
    pen.line([(60, 150), (110, 40), (150, 160), (200, 60), (240, 140)], fill=ink, width=9)
    pen.line([(280, 60), (300, 160), (360, 50), (400, 150)], fill=ink, width=9)
    pen.arc((420, 50, 540, 170), start=30, end=330, fill=ink, width=9)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="session")
def handwriting_png() -> bytes:
    return draw_handwriting()


@pytest.fixture(scope="session")
def transparent_handwriting_png() -> bytes:
    return draw_handwriting(transparent=True)


@pytest.fixture(scope="session")
def make_intent(handwriting_png: bytes) -> MakeIntent:
    def make(
        pdf: bytes,
        field_name: str = "sig_buyer",
        signer_name: str = "张三",
        signer_role: str = "buyer",
        **overrides: object,
    ) -> SigningIntent:
        values: dict[str, object] = {
            "envelope_id": "env-1",
            "signer_id": f"signer-{signer_role}",
            "signer_name": signer_name,
            "signer_role": signer_role,
            "field_name": field_name,
            "document_sha256": hashlib.sha256(pdf).hexdigest(),
            "handwriting_png": handwriting_png,
            "verified_by": "sms-otp",
            "signed_at": datetime(2026, 11, 22, 6, 5, tzinfo=UTC),
            "device": "Mozilla/5.0 (iPhone) MicroMessenger/8.0",
        }
        values.update(overrides)
        return SigningIntent(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture(scope="session")
def signed_by_buyer(
    contract_pdf: bytes, make_intent: MakeIntent, ca: CertificateAuthority
) -> SignedRevision:
    return sign_intent(contract_pdf, make_intent(contract_pdf), ca)


@pytest.fixture(scope="session")
def signed_by_both(
    signed_by_buyer: SignedRevision, make_intent: MakeIntent, ca: CertificateAuthority
) -> SignedRevision:
    pdf = signed_by_buyer.pdf
    intent = make_intent(pdf, "sig_dealer", signer_name="李四", signer_role="dealer")
    return sign_intent(pdf, intent, ca)
