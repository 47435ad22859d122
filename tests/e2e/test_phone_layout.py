"""Signer pages on a small (360 px) phone in the WeChat browser, and a forged link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.phone import Phone, phone_profiles, purchase_body, sign_on_phone

pytestmark = pytest.mark.e2e

FORGED = "/s/AAAAAAAAAAAAAAAAAAAAAA"


def test_no_signer_page_scrolls_sideways_at_360px(
    server: Any, browser: Any, playwright: Any, screenshots: Path
) -> None:
    options = phone_profiles(playwright)["wechat"]
    assert options["viewport"]["width"] == 360
    body, buyer, dealer = purchase_body()
    with server.api() as api:
        created = api.post("/api/v1/envelopes", json=body)
        assert created.status_code == 201, created.text

    context = browser.new_context(**options)
    try:
        page = context.new_page()
        phone = Phone(page, "layout360", screenshots, check_layout=True)
        # read (the buyer's turn), code entry, pad, pad with ink, confirm, done:
        # every screenshot inside sign_on_phone also checks the width.
        sign_on_phone(phone, server.wait_for_link(buyer), server, buyer, "buyer")

        # read, as the dealer whose turn has just come (and the long meta list)
        page.goto(server.wait_for_link(dealer))
        expect(page.get_by_test_id("otp-send")).to_be_visible()
        phone.shot("dealer-read")

        # link-invalid
        response = page.goto(server.base_url + FORGED)
        assert response and response.status == 404
        expect(page.get_by_test_id("link-invalid")).to_be_visible()
        phone.shot("link-invalid")
    finally:
        context.close()
    assert len(phone.taken) == 9


def test_forged_link_shows_the_chinese_invalid_link_page(
    server: Any, browser: Any, playwright: Any, screenshots: Path
) -> None:
    context = browser.new_context(**phone_profiles(playwright)["android"])
    try:
        page = context.new_page()
        response = page.goto(server.base_url + FORGED)
        assert response is not None and response.status == 404
        assert "text/html" in response.headers.get("content-type", "")
        card = page.get_by_test_id("link-invalid")
        expect(card).to_be_visible()
        expect(card.get_by_role("heading", level=1)).to_have_text("链接无效或已过期")
        expect(page).to_have_title("链接无效 - 签链")
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        # nothing of a real signer's journey is offered
        for testid in ("otp-send", "doc-page", "signature-pad", "download-signed"):
            expect(page.get_by_test_id(testid)).to_have_count(0)
        Phone(page, "forged", screenshots).shot("link-invalid")
    finally:
        context.close()
