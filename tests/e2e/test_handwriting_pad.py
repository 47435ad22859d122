"""The signature pad in Chromium with touch gestures: free writing, rotation, one box per
character — and the drawn signature is the image in the signed PDF."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from ml import handwriting
from tests.e2e.phone import (
    NAME_STROKES,
    Phone,
    field_box,
    ink_pixels,
    phone_profiles,
    purchase_body,
    read_to_the_end,
)
from tests.unit.handwriting.handwriting_data import GLYPHS

pytestmark = pytest.mark.e2e
PAD = '[data-testid="signature-pad"]'


def to_the_pad(phone: Phone, server: Any) -> tuple[str, str]:
    """A new envelope; the buyer reads it and confirms the code. Returns (envelope id, buyer)."""
    body, buyer, _ = purchase_body()
    with server.api() as api:
        created = api.post("/api/v1/envelopes", json=body)
    assert created.status_code == 201, created.text
    page = phone.page
    page.goto(server.wait_for_link(buyer))
    read_to_the_end(phone)
    before = len(server.messages(buyer))
    page.get_by_test_id("otp-send").click()
    page.get_by_test_id("otp-input").fill(server.wait_for_code(buyer, before))
    page.get_by_test_id("otp-submit").click()
    page.wait_for_url("**/sign")
    page.wait_for_function("() => window.SignLinkPad !== undefined")
    return created.json()["id"], buyer


def strokes_value(phone: Phone) -> str:
    return phone.page.locator('input[name="strokes"]').input_value()


def images_in_appearance(obj: Any, seen: set[int] | None = None) -> list[tuple[int, int]]:
    """(width, height) of every image XObject drawn by an appearance stream, nested forms too."""
    seen = seen if seen is not None else set()
    found: list[tuple[int, int]] = []
    xobjects = obj.get("/Resources", {}).get("/XObject", {})
    for key in xobjects:
        ref = xobjects.raw_get(key)
        if getattr(ref, "idnum", None) in seen:
            continue
        seen.add(getattr(ref, "idnum", -1))
        x = ref.get_object()
        if x.get("/Subtype") == "/Image":
            found.append((int(x["/Width"]), int(x["/Height"])))
        else:
            found.extend(images_in_appearance(x, seen))
    return found


def field_images(pdf: bytes, field_name: str) -> list[tuple[int, int]]:
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf))
    for ref in reader.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if str(field.get("/T")) == field_name:
            widget = (field.get("/Kids") or [ref])[0].get_object()
            return images_in_appearance(widget["/AP"]["/N"])
    raise AssertionError(f"no field {field_name}")


def test_touch_signature_is_the_image_in_the_signed_pdf(
    server: Any, browser: Any, playwright: Any, screenshots: Any
) -> None:
    from backend import signing

    context = browser.new_context(**phone_profiles(playwright)["android"])
    try:
        phone = Phone(context.new_page(), "pad-android", screenshots)
        envelope_id, _ = to_the_pad(phone, server)
        phone.draw(PAD, NAME_STROKES)
        strokes = strokes_value(phone)
        drawing = handwriting.parse_strokes(strokes)
        assert len(drawing.strokes) == len(NAME_STROKES)
        assert all(pt.t >= 0 for s in drawing.strokes for pt in s)
        expected = handwriting.prepare_signature(strokes, "张三")
        phone.page.get_by_test_id("signature-submit").click()
        expect(phone.page.get_by_test_id("signature-preview")).to_be_visible()
        phone.shot("confirm")
        phone.page.get_by_test_id("sign-confirm").click()
        phone.page.wait_for_url("**/done")
    finally:
        context.close()

    with server.api() as api:
        pdf = api.get(f"/api/v1/envelopes/{envelope_id}/pdf").content
    report = signing.validate_pdf(pdf, [])
    field = report.signatures[0].field_name
    # the image in the field is the server's rendering of exactly these strokes
    with Image.open(io.BytesIO(expected.png)) as image:
        width, height = image.size  # the signing core drops the 1 px transparent border
        assert (width - 2, height - 2) in field_images(pdf, field)
    page_index, rect = field_box(pdf, field)
    assert ink_pixels(pdf, page_index, rect, caption_pt=16) > 150


def test_rotating_to_landscape_keeps_every_stroke_undistorted(
    server: Any, browser: Any, playwright: Any, screenshots: Any
) -> None:
    context = browser.new_context(**phone_profiles(playwright)["iphone"])
    try:
        phone = Phone(context.new_page(), "pad-rotate", screenshots)
        to_the_pad(phone, server)
        page = phone.page
        phone.draw(PAD, NAME_STROKES[:7])  # 张
        before = handwriting.parse_strokes(strokes_value(phone))
        pad_before = page.locator(PAD).bounding_box()
        page.set_viewport_size({"width": 844, "height": 390})
        page.wait_for_timeout(400)
        pad_after = page.locator(PAD).bounding_box()
        assert pad_before and pad_after and pad_after["width"] > pad_before["width"]
        phone.shot("landscape")
        assert page.evaluate(f"() => SignLinkPad.strokeCount(document.querySelector('{PAD}'))") == 7
        phone.draw(PAD, NAME_STROKES[7:])  # 三, in the larger pad
        after = handwriting.parse_strokes(strokes_value(phone))
        assert len(after.strokes) == len(NAME_STROKES)
        # the first character did not move relative to itself: same shape, only shifted
        dx = after.strokes[0][0].x - before.strokes[0][0].x
        dy = after.strokes[0][0].y - before.strokes[0][0].y
        for old, new in zip(before.strokes, after.strokes[:7], strict=True):
            for a, b in zip(old, new, strict=True):
                assert abs(b.x - a.x - dx) < 0.2 and abs(b.y - a.y - dy) < 0.2
        page.get_by_test_id("signature-submit").click()
        expect(page.get_by_test_id("sign-confirm")).to_be_visible()
    finally:
        context.close()


def test_one_box_per_character_makes_one_signature(
    server: Any, browser: Any, playwright: Any, screenshots: Any
) -> None:
    context = browser.new_context(**phone_profiles(playwright)["wechat"])
    try:
        phone = Phone(context.new_page(), "pad-chars", screenshots)
        to_the_pad(phone, server)
        page = phone.page
        page.get_by_test_id("signature-mode-chars").click()
        expect(page.get_by_test_id("signature-char-pad").first).to_be_visible()
        for i, ch in enumerate("张三", start=1):
            phone.draw(f'[data-testid="signature-char-pad"][aria-label^="第{i}个字"]', GLYPHS[ch])
        phone.shot("chars")
        value = strokes_value(phone)
        assert value.startswith('{"chars":')
        drawing = handwriting.parse_strokes(value)
        assert len(drawing.strokes) == len(GLYPHS["张"]) + len(GLYPHS["三"])
        page.get_by_test_id("signature-submit").click()
        preview = page.get_by_test_id("signature-preview")
        expect(preview).to_be_visible()
        size = preview.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert size[0] > size[1] * 1.5, size  # two characters side by side
        phone.shot("chars-confirm")
    finally:
        context.close()


def test_an_empty_box_blocks_the_submit_with_a_message(
    server: Any, browser: Any, playwright: Any, screenshots: Any
) -> None:
    context = browser.new_context(**phone_profiles(playwright)["android"])
    try:
        phone = Phone(context.new_page(), "pad-empty-box", screenshots)
        to_the_pad(phone, server)
        page = phone.page
        page.get_by_test_id("signature-mode-chars").click()
        phone.draw('[data-testid="signature-char-pad"][aria-label^="第1个字"]', GLYPHS["张"])
        page.get_by_test_id("signature-submit").click()
        expect(page.locator("[data-pad-error]")).to_have_text("请在每个框内各写一个字")
        assert page.url.endswith("/sign")
        # undo removes the last stroke of the box written last; clear empties all boxes
        page.locator("[data-pad-undo]").click()
        form = "document.getElementById('pad-form')"
        assert page.evaluate(f"() => SignLinkPad.strokeCount({form})") == len(GLYPHS["张"]) - 1
        page.locator("[data-pad-clear]").click()
        assert page.evaluate(f"() => SignLinkPad.strokeCount({form})") == 0
        assert strokes_value(phone) == ""
    finally:
        context.close()
