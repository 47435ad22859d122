"""Pages at 360 px, in Chinese and English, and inside WeChat, in Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.phone import Phone, phone_profiles, purchase_body, unlock_batch
from tests.e2e.test_pwa_service_worker import sign_over_http

pytestmark = pytest.mark.e2e

FORGED = "/s/AAAAAAAAAAAAAAAAAAAAAA"


@pytest.fixture(scope="module")
def envelope(server: Any) -> dict[str, str]:
    """One car purchase: the buyer has signed, the dealer has not yet."""
    body, buyer, dealer = purchase_body()
    with server.api() as api:
        created = api.post("/api/v1/envelopes", json=body)
        assert created.status_code == 201, created.text + server.log_tail(60)
    buyer_link = server.wait_for_link(buyer)
    sign_over_http(server, buyer_link, buyer)
    return {"buyer": buyer_link, "dealer": server.wait_for_link(dealer)}


@pytest.fixture(scope="module")
def unsigned(server: Any) -> dict[str, str]:
    """A fresh car purchase: the buyer's turn, and the dealer waiting for it."""
    body, buyer, dealer = purchase_body()
    with server.api() as api:
        created = api.post("/api/v1/envelopes", json=body)
        assert created.status_code == 201, created.text + server.log_tail(60)
    return {"buyer": server.wait_for_link(buyer), "dealer_phone": dealer}


def _context(browser: Any, playwright: Any, profile: str, **extra: Any) -> Any:
    return browser.new_context(**{**phone_profiles(playwright)[profile], **extra})


@pytest.fixture
def wechat(browser: Any, playwright: Any) -> Iterator[Any]:
    context = _context(browser, playwright, "wechat")
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def english(browser: Any, playwright: Any) -> Iterator[Any]:
    context = _context(browser, playwright, "wechat", locale="en-US")
    try:
        yield context
    finally:
        context.close()


def _open(page: Page, url: str, status: int = 200) -> None:
    response = page.goto(url)
    assert response is not None and response.status == status, (url, response and response.status)
    page.wait_for_load_state("load")


def test_no_page_scrolls_sideways_at_360px_in_either_language(
    server: Any, browser: Any, playwright: Any, screenshots: Path, envelope: dict[str, str]
) -> None:
    pages = [
        ("home", "/", 200),
        ("offline", "/offline", 200),
        ("link-invalid", FORGED, 404),
        ("not-found", "/no-such-page", 404),
        ("not-signed-yet", envelope["dealer"] + "/download", 403),
        ("read", envelope["dealer"], 200),
        ("done", envelope["buyer"] + "/done", 200),
    ]
    for lang in ("zh-CN", "en-US"):
        context = _context(browser, playwright, "wechat", locale=lang)
        try:
            page = context.new_page()
            phone = Phone(page, f"pwa360-{lang}", screenshots, check_layout=True)
            for name, path, status in pages:
                _open(page, path if "://" in path else server.base_url + path, status)
                if name == "done":
                    page.get_by_test_id("doc-page").first.wait_for()
                phone.shot(name, full_page=True)
        finally:
            context.close()


def test_english_signer_reads_and_sees_english_errors(
    server: Any, english: Any, screenshots: Path, unsigned: dict[str, str]
) -> None:
    page = english.new_page()
    _open(page, unsigned["buyer"])
    assert page.evaluate("document.documentElement.lang") == "en"
    expect(page.get_by_role("heading", level=1)).to_contain_text("invites you to sign")
    expect(page.locator(".steps li").first).to_have_text("Read")
    expect(page.get_by_test_id("otp-send")).to_have_text("Read to the last page first")
    expect(page.get_by_test_id("doc-page").first).to_have_attribute(
        "alt", "Page 1 of 2 of the agreement"
    )
    Phone(page, "pwa-en", screenshots).shot("read")

    _open(page, server.base_url + FORGED, 404)
    expect(page.get_by_role("heading", level=1)).to_have_text("This link is invalid or has expired")
    expect(page).to_have_title("Invalid link - SignLink")

    _open(page, unsigned["buyer"] + "/download", 403)
    expect(page.get_by_test_id("error-message")).to_have_text("Sign first, then download.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Something went wrong")
    Phone(page, "pwa-en", screenshots).shot("error")


def test_the_language_switch_works_without_javascript(
    server: Any, browser: Any, playwright: Any, unsigned: dict[str, str]
) -> None:
    context = _context(browser, playwright, "android", java_script_enabled=False)
    try:
        page = context.new_page()
        _open(page, unsigned["buyer"])
        expect(page.get_by_role("heading", level=1)).to_contain_text("邀请您签署")
        page.get_by_test_id("lang-switch").click()
        page.wait_for_url(unsigned["buyer"])
        assert page.evaluate("document.documentElement.lang") == "en"
        expect(page.get_by_role("heading", level=1)).to_contain_text("invites you to sign")
        # remembered for the next page
        _open(page, server.base_url + FORGED, 404)
        expect(page.get_by_test_id("link-invalid")).to_contain_text("invalid or has expired")
        page.get_by_test_id("lang-switch").click()
        page.wait_for_url(server.base_url + FORGED)
        expect(page.get_by_role("heading", level=1)).to_have_text("链接无效或已过期")
    finally:
        context.close()


def test_wechat_done_page_shows_the_open_in_browser_hint_and_the_pages(
    server: Any,
    wechat: Any,
    browser: Any,
    playwright: Any,
    screenshots: Path,
    envelope: dict[str, str],
) -> None:
    page = wechat.new_page()
    _open(page, envelope["buyer"] + "/done")
    hint = page.get_by_test_id("open-in-browser")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text("在浏览器中打开")
    expect(hint).to_contain_text("右上角")
    viewer = page.get_by_test_id("signed-viewer")
    expect(viewer).to_have_attribute("open", "")
    pages = viewer.get_by_test_id("doc-page")
    assert pages.count() == 2
    for img in pages.all():
        img.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=signed-viewer] img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    # images of the signed revision, not a cached copy of the unsigned one
    assert all("?rev=" in (img.get_attribute("src") or "") for img in pages.all())
    # the PDF is still offered, second
    expect(page.get_by_test_id("download-signed")).to_have_class("btn btn--secondary btn--block")
    page.evaluate("window.scrollTo(0, 0)")
    Phone(page, "pwa-wechat", screenshots, check_layout=True).shot("done")

    # an ordinary browser downloads first and keeps the viewer folded
    context = _context(browser, playwright, "android")
    try:
        other = context.new_page()
        _open(other, envelope["buyer"] + "/done")
        expect(other.get_by_test_id("open-in-browser")).to_have_count(0)
        expect(other.get_by_test_id("download-signed")).to_have_class("btn btn--primary btn--block")
        assert other.get_by_test_id("signed-viewer").get_attribute("open") is None
    finally:
        context.close()


def test_identity_face_verify_and_decline_pages_fit_360px(
    server: Any, browser: Any, playwright: Any, screenshots: Path, tmp_path: Path
) -> None:
    """The steps other than reading and signing, with their error answers, both languages."""
    import httpx

    body, buyer, _ = purchase_body()
    body["signers"][0]["identity"] = "phone3"
    with server.api() as api:
        created = api.post("/api/v1/envelopes", json=body)
        assert created.status_code == 201, created.text
    link = server.wait_for_link(buyer)
    buyer_id = body["data"]["buyer"]["id_number"]  # the one the contract records
    with httpx.Client(timeout=30) as http:
        claimed = http.post(
            link + "/identity",
            data={"name": "张三", "id_type": "id_card", "id_number": buyer_id},
        )
        assert claimed.status_code in (200, 303), claimed.text

    signed_body, signer, _ = purchase_body()
    with server.api() as api:
        made = api.post("/api/v1/envelopes", json=signed_body)
        assert made.status_code == 201, made.text
        sign_over_http(server, server.wait_for_link(signer), signer)
        pdf = tmp_path / "signed.pdf"
        pdf.write_bytes(api.get(f"/api/v1/envelopes/{made.json()['id']}/pdf").content)

    pages = [
        ("identity-methods", link + "/identity/methods"),
        ("identity-phone3", link + "/identity/phone3"),
        ("identity-bank4", link + "/identity/bank4"),
        ("identity-manual", link + "/identity/manual"),
        ("face", link + "/face"),
        ("decline", link + "/decline"),
        ("verify", server.base_url + "/verify"),
    ]
    for lang in ("zh-CN", "en-US"):
        context = _context(browser, playwright, "wechat", locale=lang)
        try:
            page = context.new_page()
            phone = Phone(page, f"steps360-{lang}", screenshots, check_layout=True)
            for name, url in pages:
                _open(page, url)
                phone.shot(name, full_page=True)
            # answers to bad input are laid out as well
            _open(page, link + "/identity/bank4")
            page.locator('[name="card"]').fill("6222021234567890120")  # fails the Luhn check
            page.locator('[name="mobile"]').fill("13800138000")
            live = page.locator('[aria-live="polite"]:has(> #code-block)')
            live.evaluate("(el) => { el.dataset.kept = 'yes'; }")
            page.get_by_test_id("otp-send").tap()
            expect(page.get_by_test_id("code-error")).to_be_visible()
            # the answer was swapped in inside a live region that stayed: it is announced
            expect(live.get_by_test_id("code-error")).to_be_visible()
            assert live.get_attribute("data-kept") == "yes"
            phone.shot("identity-bank4-error", full_page=True)
            _open(page, server.base_url + "/verify")
            page.get_by_test_id("verify-file").set_input_files(str(pdf))
            page.get_by_test_id("verify-submit").tap()
            expect(page.get_by_test_id("verify-summary")).to_be_visible(timeout=30_000)
            expect(page.get_by_test_id("verify-signature")).to_have_count(1)
            phone.shot("verify-report", full_page=True)
        finally:
            context.close()


def test_batch_signing_pages_fit_360px(
    server: Any, browser: Any, playwright: Any, screenshots: Path
) -> None:
    """Two agreements waiting for one buyer: the list and a document view, both languages."""
    first, buyer, _ = purchase_body()
    second = purchase_body()[0]
    second["data"]["buyer"]["phone"] = buyer
    second["signers"][0]["phone"] = buyer
    with server.api() as api:
        for body in (first, second):
            created = api.post("/api/v1/envelopes", json=body)
            assert created.status_code == 201, created.text
    link = server.wait_for_link(buyer)
    unlocked: list[Any] = []  # the access cookie, so the second language needs no new code
    for lang in ("zh-CN", "en-US"):
        context = _context(browser, playwright, "wechat", locale=lang)
        if unlocked:
            context.add_cookies(unlocked)
        try:
            page = context.new_page()
            phone = Phone(page, f"batch360-{lang}", screenshots, check_layout=True)
            _open(page, link + "/batch")
            if not unlocked:
                unlock_batch(phone, server, buyer)
                unlocked = context.cookies()
            expect(page.get_by_test_id("batch-item")).to_have_count(2)
            phone.shot("batch-list", full_page=True)
            page.get_by_test_id("batch-read").first.tap()
            page.get_by_test_id("doc-page").first.wait_for()
            phone.shot("batch-view", full_page=True)
        finally:
            context.close()


@pytest.mark.parametrize(("scale", "width"), [(1, 360), (1.5, 540), (2, 720), (3, 1080)])
def test_a_phone_downloads_the_page_width_its_screen_needs(
    server: Any, browser: Any, playwright: Any, unsigned: dict[str, str], scale: float, width: int
) -> None:
    context = _context(browser, playwright, "wechat", device_scale_factor=scale)
    try:
        page = context.new_page()
        fetched: list[str] = []
        page.on("request", lambda r: fetched.append(r.url) if "/pages/" in r.url else None)
        _open(page, unsigned["buyer"])
        first = page.get_by_test_id("doc-page").first
        expect(first).to_have_js_property("complete", True)
        assert first.evaluate("(img) => img.currentSrc").endswith(f"w={width}")
        assert fetched and all(url.endswith(f"w={width}") for url in fetched), fetched
    finally:
        context.close()
