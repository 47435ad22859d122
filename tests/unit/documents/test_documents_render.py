from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from io import BytesIO

import pypdfium2 as pdfium
import pytest
from documents_data import DOCUMENT_NUMBER, car_data, with_changes
from PIL import Image
from pyhanko.pdf_utils.generic import ArrayObject, DictionaryObject
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields

from backend.documents import (
    RenderedDocument,
    SignatureSlot,
    TemplateDataError,
    async_render_document,
    page_count,
    render_document,
    render_page_image,
    render_page_images,
)
from backend.documents.catalog import CAR_PURCHASE
from backend.documents.fonts import fast_subsetting_available

Render = Callable[..., RenderedDocument]


def page_texts(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_two_pages_with_the_contract_text(rendered: RenderedDocument) -> None:
    assert rendered.page_count == 2 == page_count(rendered.pdf)
    first, second = (compact(t) for t in page_texts(rendered.pdf))
    assert "汽车买卖合同" in first
    assert "张三" in first
    assert "LC0C76C40R0123456"[:8] in first  # VIN as printed
    assert car_data()["vehicle"]["vin"] in first  # type: ignore[index]
    assert "¥189,800.00" in first
    assert "壹拾捌万玖仟捌佰元整" in first
    assert "演示汽车销售服务有限公司" in first
    # personal data is masked; the full numbers are not in the document
    assert "110101********1233" in first and "110101199003071233" not in first
    assert "138****8000" in first and "13800138000" not in first
    assert "《家用汽车产品修理更换退货责任规定》" in second
    assert "《中华人民共和国电子签名法》" in second
    assert "买方（签字）：张三" in second
    assert "李四" in second
    for number, text in enumerate((first, second), start=1):
        assert DOCUMENT_NUMBER in text
        assert f"第{number}页/共2页" in text


def test_cjk_fonts_are_embedded(rendered: RenderedDocument) -> None:
    reader = PdfFileReader(BytesIO(rendered.pdf))
    embedded: dict[str, bool] = {}
    for index in range(rendered.page_count):
        page = reader.find_page_for_modification(index)[0].get_object()
        fonts = page["/Resources"]["/Font"]
        for font_ref in fonts.values():
            font = font_ref.get_object()
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if isinstance(descendants, ArrayObject) else font
            descriptor = target["/FontDescriptor"]
            assert isinstance(descriptor, DictionaryObject)
            embedded[str(font["/BaseFont"])] = any(
                key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
    assert any("Serif-SC" in name for name in embedded)
    assert any("Sans-SC" in name for name in embedded)
    assert all(embedded.values()), embedded


def _field_boxes(pdf: bytes) -> dict[str, tuple[int, tuple[float, ...]]]:
    reader = PdfFileReader(BytesIO(pdf))
    pages = [reader.find_page_for_modification(i)[0] for i in range(2)]
    boxes = {}
    for name, value, field_ref in enumerate_sig_fields(reader):
        assert value is None, f"{name} is already signed"
        widget = field_ref.get_object()
        page_ref = widget.raw_get("/P")
        rect = tuple(float(v) for v in widget["/Rect"])
        page_index = next(i for i, ref in enumerate(pages) if ref.idnum == page_ref.idnum)
        annots = pages[page_index].get_object()["/Annots"]
        assert field_ref.idnum in {annots.raw_get(i).idnum for i in range(len(annots))}
        boxes[name] = (page_index, rect)
    return boxes


def test_empty_signature_fields_on_the_last_page(rendered: RenderedDocument) -> None:
    boxes = _field_boxes(rendered.pdf)
    assert set(boxes) == {"sig_buyer", "sig_dealer"}
    assert [s.field_name for s in rendered.slots] == ["sig_buyer", "sig_dealer"]
    width, height = 595.28, 841.89  # A4 in points
    for slot in rendered.slots:
        page, rect = boxes[slot.field_name]
        assert page == slot.page == 1
        assert rect == pytest.approx(slot.box)
        x1, y1, x2, y2 = slot.box
        assert 0 < x1 < x2 < width and 0 < y1 < y2 < height
        assert x2 - x1 > 150 and y2 - y1 > 60  # room for a handwritten signature
    buyer, dealer = rendered.slots
    assert buyer.box[2] < dealer.box[0]  # side by side, not overlapping


def _slot_pixels(image: Image.Image, slot: SignatureSlot, scale: float) -> list[int]:
    x1, y1, x2, y2 = slot.box
    top = image.height - y2 * scale
    crop = image.crop(
        (round(x1 * scale), round(top), round(x2 * scale), round(top + (y2 - y1) * scale))
    )
    return list(crop.convert("L").tobytes())


def test_fields_sit_inside_the_drawn_signature_boxes(rendered: RenderedDocument) -> None:
    scale = 2.0
    image = Image.open(BytesIO(render_page_image(rendered.pdf, 1, width=round(595.28 * scale),
                                                 format="png")))  # fmt: skip
    for slot in rendered.slots:
        inside = _slot_pixels(image, slot, scale)
        # the template fills its signature box with #fafafa, the page is white
        assert all(240 <= p <= 253 for p in inside), slot
        grown = SignatureSlot(
            slot.role,
            slot.field_name,
            slot.page,
            (slot.box[0] - 4, slot.box[1] - 4, slot.box[2] + 4, slot.box[3] + 4),
        )
        ring = _slot_pixels(image, grown, scale)
        assert sum(p < 200 for p in ring) > 100, "the dashed border surrounds the field"


def test_html_in_data_is_printed_literally(render: Render) -> None:
    data = with_changes(car_data(), **{"buyer.name": "<b>x</b>", "dealer.name": "{{7*7}}公司"})
    document = render(data, buyer="<i>y</i>", dealer="{% raw %}")
    first, second = (compact(t) for t in page_texts(document.pdf))
    assert "<b>x</b>" in first and "{{7*7}}公司" in first
    assert "<i>y</i>" in second and "{%raw%}" in second


def test_longest_allowed_values_keep_two_pages(render: Render) -> None:
    wide = "鬱"  # a full-width character: the widest line per character count
    data = with_changes(
        car_data(),
        **{
            "buyer.name": wide * 30,
            "buyer.address": wide * 60,
            "vehicle.model": wide * 60,
            "vehicle.colour": wide * 20,
            "delivery_place": wide * 60,
            "dealer.name": wide * 40,
            "dealer.address": "W" * 60,  # no break opportunity in Latin either
            "dealer.phone": "+86 (010) 1234-5678-9012",
            "price": "99999999.99",
            "deposit": "50000000",
        },
    )
    document = render(data, buyer=wide * 30, dealer=wide * 30)
    assert document.page_count == 2
    assert all(slot.page == 1 for slot in document.slots)
    first, _ = (compact(t) for t in page_texts(document.pdf))
    assert "W" * 60 in first


def test_without_deposit(render: Render) -> None:
    document = render(with_changes(car_data(), deposit=...))
    first, _ = (compact(t) for t in page_texts(document.pdf))
    assert document.page_count == 2
    assert "本合同不设定金" in first


def test_render_rejects_bad_input() -> None:
    cleaned = CAR_PURCHASE.validate(car_data())
    with pytest.raises(ValueError):
        render_document(CAR_PURCHASE, cleaned, document_number="SL 1/2", signers={})
    with pytest.raises(ValueError):
        render_document(CAR_PURCHASE, cleaned, document_number="SL-1", signers={"seller": "李四"})
    with pytest.raises(TemplateDataError) as caught:
        render_document(CAR_PURCHASE, cleaned, document_number="SL-1", signers={"buyer": "\x00"})
    assert caught.value.errors[0].path == "signers.buyer"
    with pytest.raises(TemplateDataError):
        render_document(CAR_PURCHASE, {"price": 1}, document_number="SL-1", signers={})


def test_stored_data_with_a_past_delivery_date_still_renders() -> None:
    cleaned = CAR_PURCHASE.validate(car_data())
    cleaned["delivery_date"] = "2020-01-01"
    document = render_document(CAR_PURCHASE, cleaned, document_number="SL-1", signers={})
    assert "2020年1月1日" in compact(page_texts(document.pdf)[0])


def test_fast_font_subsetting_is_installed() -> None:
    # Without HarfBuzz's subsetter WeasyPrint falls back to fontTools, ten times slower
    # (bench/ measures the render time itself).
    assert fast_subsetting_available(), "install libharfbuzz-subset0 (apt) for fast font subsetting"


async def test_async_render_keeps_the_event_loop_free() -> None:
    cleaned = CAR_PURCHASE.validate(car_data())
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    try:
        document = await async_render_document(
            CAR_PURCHASE, cleaned, document_number=DOCUMENT_NUMBER, signers={"buyer": "张三"}
        )
    finally:
        ticking.cancel()
    assert document.page_count == 2
    # the loop kept turning during the render (a blocking render would allow no tick at all);
    # no bound on the gaps: under load they say more about the machine than about this code
    assert len(gaps) > 3


async def test_a_render_process_makes_the_same_document() -> None:
    from backend.documents import rendering

    cleaned = CAR_PURCHASE.validate(car_data())
    signers = {"buyer": "张三", "dealer": "李经理"}
    here = await async_render_document(
        CAR_PURCHASE, cleaned, document_number=DOCUMENT_NUMBER, signers=signers
    )
    rendering.use_render_processes(1)
    try:
        there = await async_render_document(
            CAR_PURCHASE, cleaned, document_number=DOCUMENT_NUMBER, signers=signers
        )
    finally:
        rendering.use_render_processes(0)
    assert there.slots == here.slots and there.page_count == here.page_count
    text = "".join(page_texts(there.pdf))
    assert "张三" in text and "李经理" in text


def test_sha256_matches(rendered: RenderedDocument) -> None:
    import hashlib

    assert rendered.sha256 == hashlib.sha256(rendered.pdf).hexdigest()


@pytest.mark.parametrize(
    ("fmt", "pil_format"), [("webp", "WEBP"), ("png", "PNG"), ("jpeg", "JPEG")]
)
def test_page_images(rendered: RenderedDocument, fmt: str, pil_format: str) -> None:
    images = render_page_images(rendered.pdf, width=540, format=fmt, quality=70)
    assert len(images) == 2
    for data in images:
        image = Image.open(BytesIO(data))
        image.load()
        assert image.format == pil_format
        assert image.width == 540
        assert image.height == pytest.approx(540 * 841.89 / 595.28, abs=1)


def test_page_image_arguments(rendered: RenderedDocument) -> None:
    assert Image.open(BytesIO(render_page_image(rendered.pdf, 0))).width == 1080
    with pytest.raises(IndexError):
        render_page_image(rendered.pdf, 2)
    with pytest.raises(ValueError):
        render_page_images(rendered.pdf, format="gif")
