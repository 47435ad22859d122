"""The share page in WeChat's browser with an Official Account configured: it calls
wx.config with a signature for the address the browser shows, then gives WeChat the card.

WeChat's jweixin-1.6.0.js is replaced by a recorder of the calls (the suite is offline);
the WeChat API is the local fake of tests/unit/wechat/wechat_fake.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Server, serve
from tests.e2e.phone import phone_profiles, random_mobile
from tests.integration.journey import car_purchase_body
from tests.unit.wechat.wechat_fake import APP_SECRET, FakeWeChat

pytestmark = pytest.mark.e2e

JWEIXIN = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js"
RECORDER = """
window.__wx = [];
window.wx = {
  config: function (c) { window.__wx.push(['config', c]); },
  ready: function (f) { setTimeout(f, 0); },
  error: function () {},
  updateAppMessageShareData: function (d) { window.__wx.push(['updateAppMessageShareData', d]); },
  updateTimelineShareData: function (d) { window.__wx.push(['updateTimelineShareData', d]); }
};
"""


@pytest.fixture(scope="module")
def wechat() -> Iterator[FakeWeChat]:
    fake = FakeWeChat().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def wechat_server(wechat: FakeWeChat) -> Iterator[Server]:
    with serve(
        {
            "SIGNLINK_WECHAT_APP_ID": wechat.app_id,
            "SIGNLINK_WECHAT_APP_SECRET": APP_SECRET,
            "SIGNLINK_WECHAT_API_BASE": wechat.url,
        }
    ) as srv:
        yield srv


def test_the_share_page_configures_the_wechat_card(
    wechat_server: Server, wechat: FakeWeChat, browser: Any, playwright: Any
) -> None:
    buyer, dealer = random_mobile("138"), random_mobile("139")
    with wechat_server.api() as api:
        made = api.post("/api/v1/envelopes", json=car_purchase_body(buyer, dealer))
        assert made.status_code == 201, made.text
    share_url = wechat_server.wait_for_link(buyer).replace("/s/", "/p/", 1)

    context = browser.new_context(**phone_profiles(playwright)["wechat"])
    loaded: list[str] = []

    def fake_jweixin(route: Any) -> None:
        loaded.append(route.request.url)
        route.fulfill(status=200, content_type="application/javascript", body=RECORDER)

    context.route(JWEIXIN, fake_jweixin)
    try:
        page = context.new_page()
        # as WeChat opens a shared link: its own parameters added, a fragment the app keeps
        page.goto(share_url + "?from=singlemessage&isappinstalled=0#top")
        page.wait_for_function("window.__wx && window.__wx.length >= 3")
        calls = dict(page.evaluate("window.__wx.map(c => [c[0], c[1]])"))
        address = page.evaluate("location.href.split('#')[0]")
        og = {
            name: page.locator(f'meta[property="og:{name}"]').get_attribute("content")
            for name in ("title", "description", "url", "image")
        }
    finally:
        context.close()

    assert loaded == [JWEIXIN]
    config = calls["config"]
    assert config["appId"] == wechat.app_id and config["debug"] is False
    assert config["jsApiList"] == ["updateAppMessageShareData", "updateTimelineShareData"]
    signed = (
        f"jsapi_ticket={wechat.tickets[-1]}&noncestr={config['nonceStr']}"
        f"&timestamp={config['timestamp']}&url={address}"
    )
    assert config["signature"] == hashlib.sha1(signed.encode()).hexdigest()

    card = calls["updateAppMessageShareData"]
    assert card == {
        "title": og["title"],
        "desc": og["description"],
        "link": og["url"],
        "imgUrl": og["image"],
    }
    assert card["title"] == "《汽车买卖合同》待张三签署"
    assert card["link"] == share_url and card["imgUrl"] == share_url + "/thumb.jpg"
    assert calls["updateTimelineShareData"] == {
        "title": card["title"],
        "link": card["link"],
        "imgUrl": card["imgUrl"],
    }
