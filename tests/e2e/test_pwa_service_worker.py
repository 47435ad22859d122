"""The installable shell in Chromium: manifest, service worker, offline page, updates, and
that documents and personal data never land in the worker's cache."""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.phone import Phone, phone_profiles, purchase_body
from tests.integration.journey import handwriting_data_url, handwriting_strokes

pytestmark = pytest.mark.e2e


@pytest.fixture
def android(browser: Any, playwright: Any) -> Iterator[Any]:
    context = browser.new_context(**phone_profiles(playwright)["android"])
    try:
        yield context
    finally:
        context.close()


def sign_over_http(server: Any, link: str, phone: str, name: str = "张三") -> None:
    """Read every page, confirm the SMS code, draw `name` and sign, as the signer of `link`."""
    with httpx.Client(timeout=60) as http:
        page = http.get(link)
        assert page.status_code == 200, page.text
        for i in range(page.text.count('data-testid="doc-page"')):
            assert http.get(f"{link}/pages/{i}").status_code == 200
        before = len(server.messages(phone))
        assert http.post(f"{link}/otp", headers={"HX-Request": "true"}).status_code == 200
        code = server.wait_for_code(phone, before)
        ok = http.post(f"{link}/otp/verify", data={"code": code}, follow_redirects=False)
        assert ok.status_code == 303, ok.text
        signed = http.post(
            f"{link}/signature",
            data={"signature_png": handwriting_data_url(), "strokes": handwriting_strokes(name)},
        )
        assert signed.status_code == 200, signed.text
        done = http.post(f"{link}/confirm", follow_redirects=False)
        assert done.status_code == 303, done.text


def controlled_page(context: Any, base_url: str, path: str = "/") -> Page:
    """A page under the service worker's control (the first visit installs it)."""
    page = context.new_page()
    page.goto(base_url + path)
    page.wait_for_function(
        "() => navigator.serviceWorker && navigator.serviceWorker.controller !== null",
        timeout=15_000,
    )
    return page


def cached_urls(page: Page) -> dict[str, list[str]]:
    return page.evaluate(
        """async () => {
            const out = {};
            for (const name of await caches.keys()) {
                const cache = await caches.open(name);
                out[name] = (await cache.keys()).map((r) => new URL(r.url).pathname);
            }
            return out;
        }"""
    )


def served_build(server: Any) -> str:
    with server.api() as api:
        script = api.get("/sw.js").text
    found = re.search(r'const BUILD = "([0-9a-f]+)";', script)
    assert found, script[:200]
    return found.group(1)


def test_manifest_meets_the_install_criteria(server: Any, android: Any) -> None:
    from PIL import Image

    page = android.new_page()
    page.goto(server.base_url + "/")
    href = page.locator('link[rel="manifest"]').get_attribute("href")
    assert href
    manifest_url = urljoin(server.base_url + "/", href)
    answer = page.request.get(manifest_url)
    assert answer.ok
    assert "manifest+json" in answer.headers["content-type"]
    manifest = json.loads(answer.text())

    assert "签链" in manifest["name"] and manifest["short_name"] == "签链"
    assert manifest["lang"] == "zh-CN"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"].startswith("#") and manifest["background_color"].startswith("#")
    scope = urljoin(manifest_url, manifest["scope"])
    start = urljoin(manifest_url, manifest["start_url"])
    assert start.startswith(scope) and urlparse(start).netloc == urlparse(server.base_url).netloc

    sizes: dict[str, set[str]] = {}
    for icon in manifest["icons"]:
        got = page.request.get(urljoin(manifest_url, icon["src"]))
        assert got.ok, icon["src"]
        assert got.headers["content-type"].startswith(icon["type"]), icon
        if icon["type"] == "image/png":
            with Image.open(io.BytesIO(got.body())) as im:
                assert f"{im.width}x{im.height}" == icon["sizes"], icon
        for purpose in icon.get("purpose", "any").split():
            sizes.setdefault(purpose, set()).add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes["any"]
    assert "512x512" in sizes["maskable"]

    # Chromium's own verdict (an incognito-like test context is the only objection allowed)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)
    cdp = android.new_cdp_session(page)
    parsed = cdp.send("Page.getAppManifest")
    assert not parsed.get("errors"), parsed["errors"]
    found = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    errors = [e["errorId"] for e in found]
    assert set(errors) <= {"in-incognito"}, errors


def test_service_worker_precaches_the_shell_and_controls_the_page(
    server: Any, android: Any
) -> None:
    page = controlled_page(android, server.base_url)
    build = served_build(server)
    caches = cached_urls(page)
    assert list(caches) == [f"signlink-shell-{build}"], caches
    shell = set(caches[f"signlink-shell-{build}"])
    assert {"/", "/offline", "/static/css/app.css", "/static/js/app.js"} <= shell
    assert any(re.fullmatch(r"/static/vendor/htmx-[\d.]+\.min\.js", u) for u in shell), shell
    assert {"/static/icons/icon-192.png", "/static/icons/icon-512.png"} <= shell
    scope = page.evaluate("async () => (await navigator.serviceWorker.ready).scope")
    assert scope == server.base_url + "/"


def test_offline_a_page_shows_the_offline_page(
    server: Any, browser: Any, playwright: Any, screenshots: Path
) -> None:
    context = browser.new_context(**phone_profiles(playwright)["wechat"])
    try:
        page = controlled_page(context, server.base_url)
        context.set_offline(True)
        page.goto(server.base_url + "/s/AAAAAAAAAAAAAAAAAAAAAA")
        expect(page.get_by_test_id("offline")).to_be_visible()
        expect(page.get_by_role("heading", level=1)).to_have_text("网络已断开")
        phone = Phone(page, "pwa", screenshots, check_layout=True)
        phone.shot("offline")
        # the home page (the installed app's start URL) still opens from the cache
        page.goto(server.base_url + "/")
        expect(page.get_by_role("heading", level=1)).to_have_text("在手机上签合同")
        context.set_offline(False)
        page.get_by_test_id("lang-switch").wait_for()
    finally:
        context.close()


def test_documents_personal_data_and_api_answers_are_never_cached(
    server: Any, android: Any
) -> None:
    body, buyer, _dealer = purchase_body()
    with server.api() as api:
        created = api.post("/api/v1/envelopes", json=body)
        assert created.status_code == 201, created.text
    link = server.wait_for_link(buyer)
    sign_over_http(server, link, buyer)

    page = controlled_page(android, server.base_url)
    page.goto(link + "/done")
    page.locator("[data-testid=signed-viewer] summary").click()
    for img in page.get_by_test_id("doc-page").all():
        img.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.doc-page')].every(i => i.complete && i.naturalWidth)"
    )
    statuses = page.evaluate(
        """async (urls) => Promise.all(urls.map(async (u) => (await fetch(u)).status))""",
        [link + "/download", "/api/v1/templates", "/pki/root.pem", link, link + "/pages/0"],
    )
    assert statuses[0] == 200 and statuses[2] == 200 and statuses[4] == 200, statuses
    page.goto(link)  # a navigation to a signing page, through the worker
    page.goto(server.base_url + "/")

    for name, urls in cached_urls(page).items():
        for url in urls:
            assert url in ("/", "/offline") or url.startswith("/static/"), (name, url)
            assert not re.search(r"^/(s|api|pki)/|\.pdf$|/download$", url), (name, url)


class DeployableOrigin:
    """An origin in front of the server whose /sw.js can be switched to a new build, the way
    a deploy changes it (Chromium fetches a worker's script past any request routing)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.build_swap: tuple[str, str] | None = None
        origin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                answer = httpx.get(origin.upstream + self.path, headers=self._forwarded())
                body = answer.content
                if self.path == "/sw.js" and origin.build_swap:
                    old, new = origin.build_swap
                    body = body.replace(f'"{old}"'.encode(), f'"{new}"'.encode(), 1)
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in (
                        "content-length",
                        "content-encoding",
                        "transfer-encoding",
                        "connection",
                    ):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _forwarded(self) -> dict[str, str]:
                keep = ("accept", "accept-language", "cookie", "user-agent")
                return {k: v for k, v in self.headers.items() if k.lower() in keep}

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> DeployableOrigin:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_new_version_waits_and_the_banner_reloads_into_it(
    server: Any, android: Any, screenshots: Path
) -> None:
    old = served_build(server)
    new = "0123456789ab" if old != "0123456789ab" else "ba9876543210"
    with DeployableOrigin(server.base_url) as origin:
        page = controlled_page(android, origin.base_url)
        assert list(cached_urls(page)) == [f"signlink-shell-{old}"]

        origin.build_swap = (old, new)  # deploy
        page.evaluate("async () => (await navigator.serviceWorker.getRegistration()).update()")
        banner = page.get_by_test_id("sw-update")
        expect(banner).to_be_visible(timeout=15_000)
        expect(banner).to_contain_text("新版本已就绪，点击刷新")
        registration = page.evaluate(
            """async () => {
                const r = await navigator.serviceWorker.getRegistration();
                return {waiting: !!r.waiting, active: r.active.scriptURL};
            }"""
        )
        assert registration["waiting"], registration
        # until the signer agrees, the old version keeps serving this page
        assert f"signlink-shell-{old}" in cached_urls(page)
        Phone(page, "pwa", screenshots, check_layout=True).shot("update-banner")

        with page.expect_navigation():
            banner.get_by_role("button").click()
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        expect(page.get_by_test_id("sw-update")).to_be_hidden()
        page.wait_for_function(
            "async (name) => (await caches.keys()).join() === name",
            arg=f"signlink-shell-{new}",
        )


def test_a_new_version_takes_over_at_the_next_navigation(server: Any, android: Any) -> None:
    old = served_build(server)
    new = "fedcba987654"
    with DeployableOrigin(server.base_url) as origin:
        page = controlled_page(android, origin.base_url)
        origin.build_swap = (old, new)
        page.evaluate("async () => (await navigator.serviceWorker.getRegistration()).update()")
        expect(page.get_by_test_id("sw-update")).to_be_visible(timeout=15_000)

        # the signer ignores the banner and goes on to another page: no old version remains
        page.goto(origin.base_url + "/offline")
        page.wait_for_function(
            "async (name) => (await caches.keys()).join() === name",
            arg=f"signlink-shell-{new}",
            timeout=15_000,
        )
        page.wait_for_function(
            """async () => {
                const r = await navigator.serviceWorker.getRegistration();
                return !r.waiting && navigator.serviceWorker.controller !== null;
            }"""
        )
