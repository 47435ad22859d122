"""The installable shell over HTTP: /sw.js, the manifest, the offline page, page language."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from backend import i18n
from backend.pwa import ServiceWorker, in_app_browser

PWA = Path(__file__).resolve().parents[2] / "pwa"
FORGED = "/s/AAAAAAAAAAAAAAAAAAAAAA"
WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 13; V2055A; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 MicroMessenger/8.0.50.2600 NetType/WIFI"
)


def _html_lang(text: str) -> str:
    found = re.search(r'<html lang="([^"]+)"', text)
    assert found, text[:200]
    return found.group(1)


def _precache(script: str) -> list[str]:
    found = re.search(r"const PRECACHE = (\[.*?\]);", script, re.S)
    assert found
    return list(json.loads(found.group(1)))


# -- service worker --


async def test_sw_js_is_served_at_the_root_uncached_with_the_build(
    client: AsyncTestClient[Any],
) -> None:
    answer = await client.get("/sw.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.headers["service-worker-allowed"] == "/"
    assert answer.headers["cache-control"] == "no-cache"
    build = ServiceWorker.from_dir(PWA).build
    assert f'const BUILD = "{build}";' in answer.text
    assert "'signlink-shell-' + BUILD" in answer.text


async def test_the_precache_is_the_shell_and_nothing_personal(
    client: AsyncTestClient[Any],
) -> None:
    urls = _precache((await client.get("/sw.js")).text)
    assert {"/", "/offline", "/static/css/app.css", "/static/js/app.js"} <= set(urls)
    assert any(re.fullmatch(r"/static/vendor/htmx-[\d.]+\.min\.js", u) for u in urls)
    assert {"/static/icons/icon-192.png", "/static/icons/icon-maskable-512.png"} <= set(urls)
    for url in urls:
        assert url in ("/", "/offline") or url.startswith("/static/"), url
        answer = await client.get(url)
        assert answer.status_code == 200, url  # install fails on a single missing file


def test_a_deploy_that_changes_the_shell_changes_the_worker(tmp_path: Path) -> None:
    copy = tmp_path / "pwa"
    shutil.copytree(PWA, copy)
    before = ServiceWorker.from_dir(copy)
    assert ServiceWorker.from_dir(copy) == before  # stable across restarts
    css = copy / "static" / "css" / "app.css"
    css.write_text(css.read_text() + "\n.x { color: red; }\n")
    after = ServiceWorker.from_dir(copy)
    assert after.build != before.build
    assert after.script != before.script
    po = copy / "locale" / "en" / "LC_MESSAGES" / "messages.po"
    po.write_text(po.read_text().replace('msgstr "Try again"', 'msgstr "Retry"'))
    assert ServiceWorker.from_dir(copy).build != after.build  # the offline page's words


# -- manifest and offline page --


async def test_manifest_is_linked_and_complete(client: AsyncTestClient[Any]) -> None:
    home = await client.get("/")
    found = re.search(r'<link rel="manifest" href="([^"]+)">', home.text)
    assert found
    answer = await client.get(found.group(1))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/manifest+json")
    manifest = answer.json()
    assert manifest["name"].startswith("签链") and manifest["short_name"] == "签链"
    assert manifest["lang"] == "zh-CN"
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == (
        "/",
        "/",
        "standalone",
    )
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    purposes = {(i["sizes"], i.get("purpose", "any")) for i in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= purposes
    for icon in manifest["icons"]:
        assert (await client.get(icon["src"])).status_code == 200, icon


async def test_offline_page(client: AsyncTestClient[Any]) -> None:
    answer = await client.get("/offline")
    assert answer.status_code == 200
    assert 'data-testid="offline"' in answer.text and "网络已断开" in answer.text


# -- language --


@pytest.mark.parametrize(
    ("accept", "lang"),
    [
        (None, "zh-CN"),
        ("zh-CN,zh;q=0.9", "zh-CN"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR, en;q=0.5, zh;q=0.4", "en"),
        ("en;q=0.5, zh-TW;q=0.8", "zh-CN"),
        ("fr-FR,de;q=0.8", "zh-CN"),
        ("en;q=0", "zh-CN"),
    ],
)
async def test_language_follows_accept_language(
    client: AsyncTestClient[Any], accept: str | None, lang: str
) -> None:
    headers = {"Accept-Language": accept} if accept else {}
    page = await client.get("/", headers=headers)
    assert _html_lang(page.text) == lang
    assert ("Sign agreements on your phone" in page.text) == (lang == "en")
    assert "Accept-Language" in page.headers["vary"]


async def test_the_lang_cookie_wins_over_accept_language(client: AsyncTestClient[Any]) -> None:
    page = await client.get(FORGED, headers={"Accept-Language": "zh-CN", "Cookie": "lang=en"})
    assert page.status_code == 404 and _html_lang(page.text) == "en"
    assert "This link is invalid or has expired" in page.text
    page = await client.get(FORGED, headers={"Accept-Language": "en", "Cookie": "lang=zh-CN"})
    assert _html_lang(page.text) == "zh-CN" and "链接无效或已过期" in page.text
    page = await client.get(FORGED, headers={"Accept-Language": "en", "Cookie": "lang=xx"})
    assert _html_lang(page.text) == "en"


async def test_the_switch_sets_the_cookie_and_returns_to_the_page(
    client: AsyncTestClient[Any],
) -> None:
    try:
        answer = await client.post(
            "/lang", data={"lang": "en", "next": FORGED}, follow_redirects=False
        )
        assert answer.status_code == 303 and answer.headers["location"] == FORGED
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("lang=en;") and "Path=/" in cookie and "Max-Age=" in cookie
        for unsafe in ("//evil.example/x", "https://evil.example/", "/\\evil.example", ""):
            moved = await client.post(
                "/lang", data={"lang": "en", "next": unsafe}, follow_redirects=False
            )
            assert moved.headers["location"] == "/", unsafe
        ignored = await client.post(
            "/lang", data={"lang": "klingon", "next": "/"}, follow_redirects=False
        )
        assert ignored.status_code == 303 and "set-cookie" not in ignored.headers
    finally:
        client.cookies.delete("lang")


async def test_every_page_has_the_switch_back_to_itself(client: AsyncTestClient[Any]) -> None:
    page = await client.get("/offline")
    assert '<form class="lang-switch" method="post" action="/lang">' in page.text
    assert 'name="next" value="/offline"' in page.text
    assert 'name="lang" value="en"' in page.text
    english = await client.get("/offline", headers={"Accept-Language": "en"})
    assert 'name="lang" value="zh-CN"' in english.text


async def test_error_pages_switch_back_through_the_referer(client: AsyncTestClient[Any]) -> None:
    page = await client.get(FORGED)
    assert 'action="/lang"' in page.text and "AAAAAAAA" not in page.text  # no echo
    try:
        back = await client.post(
            "/lang",
            data={"lang": "en"},
            headers={"Referer": "http://127.0.0.1:8000" + FORGED},
            follow_redirects=False,
        )
        assert back.headers["location"] == FORGED
        elsewhere = await client.post(
            "/lang",
            data={"lang": "en"},
            headers={"Referer": "https://evil.example" + FORGED},
            follow_redirects=False,
        )
        assert elsewhere.headers["location"] == "/"
    finally:
        client.cookies.delete("lang")


async def test_error_pages_speak_the_page_language(client: AsyncTestClient[Any]) -> None:
    zh = await client.get("/no-such-page")
    assert zh.status_code == 404 and "页面不存在" in zh.text
    en = await client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert _html_lang(en.text) == "en" and "Not found." in en.text and "页面不存在" not in en.text
    # the API answers in both languages whatever the page language
    api = await client.get("/api/v1/envelopes", headers={"Accept-Language": "en"})
    assert api.status_code == 401
    body = api.json()["error"]
    assert body["message"].startswith("缺少") and body["message_en"].startswith("Missing")


def test_the_english_catalogue_is_complete() -> None:
    from babel.messages.pofile import read_po

    with (PWA / "locale" / "en" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    with (PWA / "locale" / "messages.pot").open("rb") as f:
        template = read_po(f)
    missing = [m.id for m in template if m.id and not (catalog.get(m.id) and catalog[m.id].string)]
    assert not missing


def test_every_message_in_the_sources_is_in_the_catalogue() -> None:
    """What babel.cfg extracts today (templates and N_() in Python) is all translated: a
    string added without `pybabel extract` / `update` would show in Chinese on English pages."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg
    from babel.messages.pofile import read_po

    root = PWA.parent
    with (root / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = {
        msgid if isinstance(msgid, str) else msgid[0]
        for _, _, msgid, _, _ in extract_from_dir(
            root,
            method_map,
            options_map,
            directory_filter=lambda d: not Path(d).name.startswith((".", "__")),
        )
    }
    assert len(found) > 400  # the templates and the Python messages were read
    with (PWA / "locale" / "en" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    untranslated = sorted(m for m in found if not (catalog.get(m) and catalog[m].string))
    assert not untranslated


# -- in-app browsers --


@pytest.mark.parametrize(
    ("ua", "app"),
    [
        (WECHAT_UA, "wechat"),
        ("Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148 AlipayClient/10.5.0", "alipay"),
        ("Mozilla/5.0 (Linux; Android 13) Chrome/116.0.0.0 Mobile Safari/537.36", ""),
        (None, ""),
    ],
)
def test_in_app_browsers_are_recognised(ua: str | None, app: str) -> None:
    assert in_app_browser(ua) == app


async def test_camera_hint_names_the_wechat_settings(app: Any) -> None:
    template = app.template_engine.get_template("partials/camera_hint.html")

    def render(ua: str) -> str:
        request = SimpleNamespace(headers={"user-agent": ua})
        return str(template.render(request=request))

    assert "系统权限管理" in render(WECHAT_UA)
    assert "系统权限管理" not in render("Mozilla/5.0 Chrome/116") and "允许" in render("x")
    assert i18n.current() == "zh-CN"
