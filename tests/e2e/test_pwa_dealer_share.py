"""The dealer on a phone in WeChat: log in, create a test-drive agreement from its template,
share the signing link (copy, QR code, the share page WeChat turns into a card)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.phone import Phone, phone_profiles, random_mobile

pytestmark = pytest.mark.e2e


def test_dealer_creates_from_a_template_and_shares_it(
    server: Any, browser: Any, playwright: Any, screenshots: Path
) -> None:
    dealer_phone, customer_phone = random_mobile("136"), random_mobile("137")
    with server.api() as api:
        added = api.post(
            "/api/v1/members",
            json={"name": "李经理", "phone": dealer_phone, "roles": ["sender"]},
        )
        assert added.status_code == 201, added.text

    context = browser.new_context(**phone_profiles(playwright)["wechat"])
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base_url)
    try:
        page = context.new_page()
        phone = Phone(page, "dealer", screenshots, check_layout=True)

        # log in with an SMS code
        page.goto(server.base_url + "/app")
        expect(page.get_by_test_id("login-phone")).to_be_visible()
        page.get_by_test_id("login-phone").fill(dealer_phone)
        page.get_by_test_id("login-send").tap()
        expect(page.get_by_test_id("login-code")).to_be_visible()
        page.get_by_test_id("login-code").fill(server.wait_for_code(dealer_phone, after=0))
        phone.shot("login-code")
        page.get_by_test_id("login-submit").tap()
        expect(page.get_by_test_id("nav-new")).to_be_visible()
        phone.shot("list")

        # pick the template, fill the form with the phone keyboard's values
        page.get_by_test_id("nav-new").tap()
        expect(page.get_by_test_id("template-test-drive")).to_be_visible()
        phone.shot("templates")
        page.get_by_test_id("template-test-drive").tap()
        expect(page.get_by_test_id("create-submit")).to_be_visible()
        values = {
            "signer.customer.name": "王芳", "signer.customer.phone": customer_phone,
            "signer.dealer.name": "李经理", "signer.dealer.phone": dealer_phone,
            "customer.name": "王芳", "customer.phone": customer_phone,
            "customer.licence_number": "110105199001011232", "customer.licence_class": "C1",
            "customer.licence_valid_until": "2032-05-01",
            "vehicle.model": "比亚迪 汉 EV", "vehicle.plate": "京A·D12345",
            "drive.date": "2026-12-20", "drive.time": "14:00–14:30",
            "drive.route": "店内出发—望京街—返回店内",
        }  # fmt: skip
        for name, value in values.items():
            page.locator(f'[name="{name}"]').fill(value)
        phone.shot("form", full_page=True)
        page.get_by_test_id("create-submit").tap()

        # the agreement exists and goes out; its share card is on the detail page
        status = page.get_by_test_id("envelope-status")
        expect(status).to_have_text("签署中", timeout=30_000)
        share = page.get_by_test_id("share")
        expect(share).to_be_visible()
        qr = page.get_by_test_id("qr-customer").locator("svg")
        expect(qr).to_be_visible()
        drawn = qr.locator("path").bounding_box()  # the modules, not just the svg's box
        assert drawn and drawn["width"] >= 160 and drawn["height"] >= 160  # scannable
        url = page.get_by_test_id("share-url-customer").input_value()
        assert re.fullmatch(re.escape(server.base_url) + r"/p/[A-Za-z0-9_-]+", url), url
        phone.shot("detail", full_page=True)

        copy = page.get_by_test_id("copy-customer")
        copy.tap()
        expect(copy).to_have_text("已复制")
        assert page.evaluate("navigator.clipboard.readText()") == url
        phone.shot("copied")

        # what a WeChat contact opens: a card with title, description and picture
        response = page.goto(url)
        assert response is not None and response.status == 200

        def meta(prop: str) -> str:
            return str(page.locator(f'meta[property="{prop}"]').get_attribute("content"))

        assert meta("og:title") == "《车辆试乘试驾协议》待王芳签署"
        assert "演示汽车销售服务有限公司邀请您在线签署" in meta("og:description")
        assert meta("og:url") == url
        thumb = page.get_by_test_id("share-thumb")
        expect(thumb).to_be_visible()
        loaded = "(img) => img.complete && img.naturalWidth >= 300"
        assert page.evaluate(loaded, thumb.element_handle())
        assert meta("og:image").endswith("/thumb.jpg")
        phone.shot("share-page")

        # and from there to the customer's own signing page
        page.get_by_test_id("share-open").tap()
        expect(page.get_by_test_id("doc-page").first).to_be_visible()
        signing_link = page.url
        assert "/s/" in signing_link
        phone.shot("signing-link")

        # back in the list, a filter swaps the rows in place and says how many there are
        page.goto(server.base_url + "/app")
        status_line = page.get_by_test_id("list-status")
        expect(status_line).to_have_attribute("role", "status")
        status_line.evaluate("(el) => { el.dataset.kept = 'yes'; }")
        page.get_by_test_id("search").fill("王芳")
        page.get_by_test_id("filter-sent").check()
        expect(page).to_have_url(re.compile(r"status=sent"))
        rows = page.locator("[data-testid=envelope-list] .envelope-row")
        expect(rows.first).to_be_visible()
        count = rows.count()
        expect(status_line).to_have_text(f"{count} 份合同")
        assert status_line.get_attribute("data-kept") == "yes"  # the live region stayed put
        phone.shot("filtered")
    finally:
        context.close()
    assert len(phone.taken) == 9
    assert all(p.exists() and p.stat().st_size > 0 for p in phone.taken)
    # the customer got the invitation SMS with the same signing link
    assert server.wait_for_link(customer_phone) == signing_link
