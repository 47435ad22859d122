from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from backend.signing import CertificateAuthority, SignedRevision, SigningIntent, sign_intent
from backend.signing.appearance import caption_text, handwriting_image

MakeIntent = Callable[..., SigningIntent]
Box = tuple[int, int, int, int]
SCALE = 2


def render_page(pdf: bytes, page_index: int) -> Image.Image:
    """The page as a viewer shows it, form field appearances included."""
    document = pdfium.PdfDocument(pdf)
    document.init_forms()
    return document[page_index].render(scale=SCALE, may_draw_forms=True).to_pil().convert("L")


def field_area(page: Image.Image, box: Box) -> Image.Image:
    x1, y1, x2, y2 = box
    return page.crop((x1 * SCALE, page.height - y2 * SCALE, x2 * SCALE, page.height - y1 * SCALE))


def dark_fraction(area: Image.Image) -> float:
    histogram = area.histogram()
    return sum(histogram[:128]) / (area.width * area.height)


def page_text_with_appearances(pdf: bytes, page_index: int) -> str:
    document = pdfium.PdfDocument(pdf)
    document.init_forms()
    document[page_index].flatten()
    # pdfium applies a flatten only to pages loaded afterwards.
    return str(document[page_index].get_textpage().get_text_bounded())


@pytest.mark.parametrize(("page_index", "field"), [(0, "sig_buyer"), (1, "sig_dealer")])
def test_signature_appears_in_its_field(
    contract_pdf: bytes,
    signed_by_both: SignedRevision,
    field_boxes: dict[str, Box],
    page_index: int,
    field: str,
) -> None:
    box = field_boxes[field]

    before = field_area(render_page(contract_pdf, page_index), box)
    after = field_area(render_page(signed_by_both.pdf, page_index), box)

    assert dark_fraction(before) == 0
    assert dark_fraction(after) > 0.03
    # Handwriting dominates: ink reaches the upper half of the field, not just a caption line.
    upper_half = after.crop((0, 0, after.width, after.height // 2))
    assert dark_fraction(upper_half) > 0.03


def test_caption_is_real_text_with_name_and_china_time(signed_by_both: SignedRevision) -> None:
    assert "张三 2026-11-22 14:05 (UTC+8)" in " ".join(
        page_text_with_appearances(signed_by_both.pdf, 0).split()
    )
    assert "李四 2026-11-22 14:05 (UTC+8)" in " ".join(
        page_text_with_appearances(signed_by_both.pdf, 1).split()
    )


def test_transparent_handwriting_renders(
    contract_pdf: bytes,
    transparent_handwriting_png: bytes,
    make_intent: MakeIntent,
    ca: CertificateAuthority,
    field_boxes: dict[str, Box],
) -> None:
    intent = make_intent(contract_pdf, handwriting_png=transparent_handwriting_png)

    signed = sign_intent(contract_pdf, intent, ca)

    area = field_area(render_page(signed.pdf, 0), field_boxes["sig_buyer"])
    assert dark_fraction(area.crop((0, 0, area.width, area.height // 2))) > 0.03


def test_caption_uses_china_time() -> None:
    signed_at = datetime(2026, 11, 22, 6, 5, 59, tzinfo=UTC)

    assert caption_text("张三", signed_at) == "张三  2026-11-22 14:05 (UTC+8)"


def test_handwriting_is_cropped_to_the_ink_on_transparent_paper(handwriting_png: bytes) -> None:
    image = handwriting_image(handwriting_png)

    assert image.mode == "RGBA"
    # The strokes span x 60..540, y 40..170 of the 600x200 canvas.
    assert 470 <= image.width <= 500
    assert 125 <= image.height <= 145
    corner_alpha = image.getpixel((image.width - 1, 0))
    assert isinstance(corner_alpha, tuple)
    assert corner_alpha[3] == 0


def _poppler(tool: str, pdf: bytes, tmp_path: Path, *args: str) -> str:
    executable = shutil.which(tool)
    if executable is None:
        pytest.fail(f"{tool} not found: install poppler-utils (apt-get install -y poppler-utils)")
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        [executable, *args, str(path), *(["-"] if tool == "pdftotext" else [])],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def test_caption_font_is_an_embedded_subset(signed_by_both: SignedRevision, tmp_path: Path) -> None:
    rows = [
        line.split() for line in _poppler("pdffonts", signed_by_both.pdf, tmp_path).splitlines()[2:]
    ]
    captions = [row for row in rows if row[0].endswith("+NotoSansSC-Regular")]

    # One subset per signature; columns: name, type (3 words), encoding, emb, sub, uni.
    assert len(captions) == 2
    for row in captions:
        assert row[-5:-2] == ["yes", "yes", "yes"], row
        assert "NotoSansSC-Regular" in row[0] and row[0][6] == "+"


def test_caption_text_is_extracted_by_pdftotext(
    signed_by_both: SignedRevision, tmp_path: Path
) -> None:
    text = " ".join(_poppler("pdftotext", signed_by_both.pdf, tmp_path).split())

    assert "张三 2026-11-22 14:05 (UTC+8)" in text
    assert "李四 2026-11-22 14:05 (UTC+8)" in text


def test_rare_name_outside_the_compact_font_still_prints(
    contract_pdf: bytes, make_intent: MakeIntent, ca: CertificateAuthority, tmp_path: Path
) -> None:
    # 喆 is not in GB 2312: the caption falls back to the full font.
    signed = sign_intent(contract_pdf, make_intent(contract_pdf, signer_name="王喆"), ca)

    assert "王喆" in _poppler("pdftotext", signed.pdf, tmp_path)
