"""Batch signing on a phone: unlock the list with an SMS code, read each agreement, one intent
code, one drawing, all signed."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.phone import (
    NAME_STROKES,
    Phone,
    phone_profiles,
    purchase_body,
    unique_phones,
    unlock_batch,
)

pytestmark = pytest.mark.e2e
PAD = '[data-testid="signature-pad"]'


def _read_every_page(phone: Phone) -> None:
    """Scroll each page image into view until all have loaded (the last marks it read)."""
    page = phone.page
    pages = page.get_by_test_id("doc-page")
    for i in range(pages.count()):
        pages.nth(i).scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.doc-page')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )


def test_a_buyer_signs_two_agreements_with_one_code_and_one_drawing(
    server: Any, browser: Any, playwright: Any, screenshots: Any
) -> None:
    from backend import signing

    first, buyer, _ = purchase_body()
    second = purchase_body()[0]
    _, other_dealer = unique_phones()
    second["data"]["buyer"]["phone"] = buyer
    second["signers"][0]["phone"] = buyer
    second["signers"][1]["phone"] = other_dealer
    ids = []
    with server.api() as api:
        for body in (first, second):
            created = api.post("/api/v1/envelopes", json=body)
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])

    context = browser.new_context(**phone_profiles(playwright)["android"])
    try:
        phone = Phone(context.new_page(), "batch-android", screenshots)
        page = phone.page
        page.goto(server.wait_for_link(buyer))
        page.get_by_test_id("batch-open").click()  # "1 more waiting — sign together"
        page.wait_for_url("**/batch")
        unlock_batch(phone, server, buyer)
        expect(page.get_by_test_id("batch-item")).to_have_count(2)
        phone.no_horizontal_scroll("batch list")
        # (the agreement behind the opened link may already count as read from its own page)
        while page.get_by_test_id("batch-read").count():
            page.get_by_test_id("batch-read").first.click()
            _read_every_page(phone)
            page.get_by_test_id("batch-back").click()
            page.wait_for_url("**/batch")
        expect(page.get_by_test_id("batch-select")).to_have_count(2)
        for box in page.get_by_test_id("batch-select").all():
            expect(box).to_be_enabled()
            expect(box).to_be_checked()
        page.get_by_test_id("batch-agree").check()
        before = len(server.messages(buyer))
        page.get_by_test_id("batch-otp-send").click()
        expect(page.get_by_test_id("batch-code-sent")).to_be_visible()
        page.get_by_test_id("batch-otp-input").fill(server.wait_for_code(buyer, before))
        phone.shot("batch-list")
        page.get_by_test_id("batch-verify").click()
        page.wait_for_url("**/batch/sign")
        page.wait_for_function("() => window.SignLinkPad !== undefined")
        phone.draw(PAD, NAME_STROKES)
        page.get_by_test_id("signature-submit").click()
        expect(page.get_by_test_id("batch-confirm-item")).to_have_count(2)
        page.get_by_test_id("batch-confirm").click()
        expect(page.locator('[data-testid="batch-result"][data-ok="yes"]')).to_have_count(2)
        phone.shot("batch-done")
    finally:
        context.close()

    with server.api() as api:
        for envelope_id in ids:
            status = api.get(f"/api/v1/envelopes/{envelope_id}").json()
            assert status["signers"][0]["status"] == "signed"
            pdf = api.get(f"/api/v1/envelopes/{envelope_id}/pdf").content
            report = signing.validate_pdf(pdf, [])
            assert [s.field_name for s in report.signatures] == ["sig_buyer"]
            assert report.signatures[0].intact
