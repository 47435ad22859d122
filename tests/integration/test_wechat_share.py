"""The share page's WeChat JS-SDK configuration, against a local server that speaks the
Official Account API (tests/unit/wechat/wechat_fake.py).

One access token and one jsapi_ticket serve every app process: each "process" here is a
JsapiTickets of its own (its own in-process cache) over the same database.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import logging
import re
import secrets
import threading
from datetime import timedelta
from typing import Any

import pytest

from backend.config import get_settings
from backend.database import utcnow
from backend.metrics import WECHAT_SHARE_PAGES
from backend.wechat import JsapiTickets, JsSdk, WeChatClient, WeChatError
from backend.wechat.services import stored_value
from backend.wechat.tables import WeChatCredential
from tests.integration.flows import link_of
from tests.integration.journey import car_purchase_body, fresh_phones, wait_for_sms
from tests.unit.wechat.wechat_fake import APP_SECRET, FakeWeChat

EN = {"Accept-Language": "en"}


@pytest.fixture
def fake():
    # An AppID per test: the row of one test's account is not another test's.
    server = FakeWeChat(app_id="wx" + secrets.token_hex(8)).start()
    yield server
    server.stop()


def process(fake: FakeWeChat, secret: str = APP_SECRET, now: Any = utcnow) -> JsapiTickets:
    """What one app process holds: a client and its own in-process cache."""
    return JsapiTickets(WeChatClient(fake.url, fake.app_id, secret, 2.0), now=now)


@pytest.fixture
def wechat_app(app, monkeypatch):
    """Point the running app's share pages at a WeChat account (by default the fake's)."""

    def use(fake: FakeWeChat, secret: str = APP_SECRET) -> JsSdk:
        sdk = JsSdk(process(fake, secret))
        monkeypatch.setattr(app.state, "wechat", sdk)
        return sdk

    return use


@pytest.fixture
async def share_path(client, auth, outbox, migrated) -> str:
    buyer, dealer = fresh_phones()
    made = await client.post(
        "/api/v1/envelopes", json=car_purchase_body(buyer, dealer), headers=auth
    )
    assert made.status_code == 201, made.text
    await wait_for_sms(outbox, buyer)
    link = await link_of(made.json()["id"], "buyer")
    return link.replace("/s/", "/p/", 1)


def meta(page: str, prop: str) -> str:
    found = re.search(rf'<meta (?:property|name)="{re.escape(prop)}" content="([^"]*)"', page)
    assert found, prop
    return html.unescape(found.group(1))


def wx_share(page: str) -> dict[str, Any] | None:
    found = re.search(r'<script type="application/json" id="wx-share">(.*?)</script>', page, re.S)
    return json.loads(found.group(1)) if found else None


def sha1_signature(ticket: str, nonce: str, timestamp: int, url: str) -> str:
    # Written out again here, as WeChat's documentation gives it, rather than imported.
    text = f"jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url}"
    return hashlib.sha1(text.encode()).hexdigest()


# ---------------------------------------------------------------- one token for all


async def test_two_processes_share_one_token_and_ticket(fake, migrated) -> None:
    first, second = process(fake), process(fake)
    ticket = await first.ticket()
    assert await second.ticket() == ticket == fake.tickets[-1]
    assert fake.calls == {"token": 1, "getticket": 1}
    row = await WeChatCredential.objects().where(WeChatCredential.app_id == fake.app_id).first()
    assert row is not None and stored_value(row.access_token) == fake.current_token
    assert row.refreshing_until is None
    # stored sealed: the row alone does not open the Official Account's API
    assert fake.current_token not in row.access_token and ticket not in row.jsapi_ticket
    # Later pages are served from the process's own copy: not even the row is read.
    await WeChatCredential.delete().where(WeChatCredential.app_id == fake.app_id)
    assert await first.ticket() == ticket and await second.ticket() == ticket
    assert fake.calls == {"token": 1, "getticket": 1}


async def test_concurrent_pages_in_several_processes_ask_wechat_once(fake, migrated) -> None:
    fake.delay = 0.3  # a slow WeChat: every process arrives while the first one asks
    processes = [process(fake) for _ in range(4)]
    tickets = await asyncio.gather(*(p.ticket() for p in processes for _ in range(5)))
    assert set(tickets) == {fake.tickets[0]}
    assert fake.calls == {"token": 1, "getticket": 1}


def test_processes_on_their_own_threads_and_loops_ask_wechat_once(fake, migrated) -> None:
    fake.delay = 0.3
    found: list[str] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            found.append(asyncio.run(process(fake).ticket()))
        except BaseException as exc:  # reported below
            failed.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not failed, failed
    assert found == [fake.tickets[0]] * 4
    assert fake.calls == {"token": 1, "getticket": 1}


async def test_a_row_that_cannot_be_opened_is_fetched_again(fake, migrated) -> None:
    # A row written before tokens were sealed (or under another master key).
    await WeChatCredential.insert(
        WeChatCredential(
            app_id=fake.app_id,
            access_token="plain-old-token",
            access_token_expires_at=utcnow() + timedelta(hours=1),
            jsapi_ticket="plain-old-ticket",
            jsapi_ticket_expires_at=utcnow() + timedelta(hours=1),
            updated_at=utcnow(),
        )
    )
    ticket = await process(fake).ticket()
    assert ticket == fake.tickets[-1] != "plain-old-ticket"
    assert fake.calls == {"token": 1, "getticket": 1}
    row = await WeChatCredential.objects().where(WeChatCredential.app_id == fake.app_id).first()
    assert row is not None and stored_value(row.jsapi_ticket) == ticket


async def test_a_ticket_due_to_expire_is_refreshed_by_one_process(fake, migrated) -> None:
    clock = [utcnow()]
    first, second = process(fake, now=lambda: clock[0]), process(fake, now=lambda: clock[0])
    old = await first.ticket()
    assert await second.ticket() == old
    clock[0] += timedelta(seconds=7200 - 299)  # within five minutes of WeChat's expiry
    new = await first.ticket()
    assert new != old and new == fake.tickets[-1]
    assert await second.ticket() == new
    assert fake.calls == {"token": 2, "getticket": 2}


async def test_an_invalid_token_is_replaced_once(fake, migrated) -> None:
    await process(fake).ticket()
    # Another system fetched a token with our AppID, and our ticket is due.
    fake.invalidate_token()
    await WeChatCredential.update(
        {WeChatCredential.jsapi_ticket_expires_at: utcnow() - timedelta(seconds=1)}
    ).where(WeChatCredential.app_id == fake.app_id)
    ticket = await process(fake).ticket()
    assert ticket == fake.tickets[-1]
    assert fake.calls == {"token": 2, "getticket": 3}  # 40001, a new token, the ticket
    row = await WeChatCredential.objects().where(WeChatCredential.app_id == fake.app_id).first()
    assert row is not None and stored_value(row.access_token) == fake.current_token

    # Refused again with the new token: an error, not a loop of new tokens.
    fake.mode = "reject_tokens"
    await WeChatCredential.update(
        {WeChatCredential.jsapi_ticket_expires_at: utcnow() - timedelta(seconds=1)}
    ).where(WeChatCredential.app_id == fake.app_id)
    fake.invalidate_token()
    with pytest.raises(WeChatError) as refused:
        await process(fake).ticket()
    assert refused.value.errcode == 40001
    assert fake.calls == {"token": 3, "getticket": 5}
    row = await WeChatCredential.objects().where(WeChatCredential.app_id == fake.app_id).first()
    # The token that replaced the old one is kept; the claim is released for the next try.
    assert row is not None and stored_value(row.access_token) == fake.current_token
    assert row.refreshing_until is None


async def test_a_refusal_is_not_asked_again_for_a_minute(fake, migrated) -> None:
    clock = [utcnow()]
    wrong = process(fake, secret="wrong-secret", now=lambda: clock[0])
    for _ in range(3):  # three share pages in a row
        with pytest.raises(WeChatError) as refused:
            await wrong.ticket()
        assert refused.value.errcode == 40125
    assert fake.calls == {"token": 1}  # WeChat allows 2000 token calls a day
    clock[0] += timedelta(seconds=61)
    with pytest.raises(WeChatError):
        await wrong.ticket()
    assert fake.calls == {"token": 2}
    row = await WeChatCredential.objects().where(WeChatCredential.app_id == fake.app_id).first()
    assert row is not None and row.refreshing_until is None  # free for the next try


# ---------------------------------------------------------------- the page


async def test_the_share_page_carries_a_wx_config_that_verifies(
    client, share_path, fake, wechat_app
) -> None:
    wechat_app(fake)
    # WeChat adds its own parameters to a shared link; the page signs what the browser shows.
    path = f"{share_path}?from=singlemessage&isappinstalled=0"
    page = await client.get(path)
    assert page.status_code == 200
    shared = wx_share(page.text)
    assert shared is not None
    config, card = shared["config"], shared["share"]
    assert config["appId"] == fake.app_id
    assert config["jsApiList"] == ["updateAppMessageShareData", "updateTimelineShareData"]
    url = get_settings().public_url + path
    expected = sha1_signature(fake.tickets[-1], config["nonceStr"], config["timestamp"], url)
    assert config["signature"] == expected
    assert abs(config["timestamp"] - utcnow().timestamp()) < 60
    # The card WeChat shows is the card the og: tags describe.
    assert card == {
        "title": meta(page.text, "og:title"),
        "desc": meta(page.text, "og:description"),
        "link": meta(page.text, "og:url"),
        "imgUrl": meta(page.text, "og:image"),
    }
    assert card["title"] == "《汽车买卖合同》待张三签署"
    assert card["link"] == get_settings().public_url + share_path
    assert '<script src="https://res.wx.qq.com/open/js/jweixin-1.6.0.js" defer>' in page.text
    assert '<script src="/static/js/wechat-share.js" defer>' in page.text
    script = await client.get("/static/js/wechat-share.js")
    assert script.status_code == 200 and "updateAppMessageShareData" in script.text

    # Another page view: a fresh nonce, the same ticket, no call to WeChat.
    again = wx_share((await client.get(share_path)).text)
    assert again is not None and again["config"]["nonceStr"] != config["nonceStr"]
    assert fake.calls == {"token": 1, "getticket": 1}


async def test_without_a_ticket_the_page_still_has_its_og_card(
    client, share_path, fake, wechat_app, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-secret-" + secrets.token_hex(8)
    wechat_app(fake, secret=wrong)
    before = WECHAT_SHARE_PAGES.labels("unavailable")._value.get()
    page = await client.get(share_path)
    assert page.status_code == 200
    assert wx_share(page.text) is None and "jweixin" not in page.text
    assert fake.calls == {"token": 1}
    assert meta(page.text, "og:title") == "《汽车买卖合同》待张三签署"
    assert meta(page.text, "og:image").endswith(f"{share_path}/thumb.jpg")
    assert WECHAT_SHARE_PAGES.labels("unavailable")._value.get() == before + 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("jsapi_ticket" in r.getMessage() for r in warnings)
    logged = " ".join(r.getMessage() + repr(getattr(r, "fields", "")) for r in caplog.records)
    assert "40125" in logged  # WeChat's reason, for the operator
    assert wrong not in logged and wrong not in caplog.text


async def test_a_silent_wechat_costs_the_page_its_timeout_not_a_500(
    client, share_path, fake, app, monkeypatch
) -> None:
    fake.mode = "slow"
    sdk = JsSdk(JsapiTickets(WeChatClient(fake.url, fake.app_id, APP_SECRET, 0.3)))
    monkeypatch.setattr(app.state, "wechat", sdk)
    page = await client.get(share_path)
    assert page.status_code == 200 and wx_share(page.text) is None
    assert 'property="og:title"' in page.text


async def test_no_wechat_account_no_js_sdk(client, share_path, app) -> None:
    assert app.state.wechat is None  # the default: SIGNLINK_WECHAT_APP_ID unset
    page = await client.get(share_path)
    assert page.status_code == 200 and "wx-share" not in page.text and "jweixin" not in page.text


# ---------------------------------------------------------------- English


async def test_the_share_card_in_english(client, share_path, fake, wechat_app) -> None:
    wechat_app(fake)
    page = await client.get(share_path, headers=EN)
    shared = wx_share(page.text)
    assert shared is not None
    card = shared["share"]
    # The pattern is translated, then filled in: the title and names stay as typed.
    assert card["title"] == "“汽车买卖合同” is waiting for 张三 to sign"
    assert card["desc"].startswith("演示汽车销售服务有限公司 invites you to sign online, by ")
    assert meta(page.text, "og:title") == card["title"]
    assert meta(page.text, "og:description") == card["desc"]
    assert f"<title>{html.escape(card['title'], quote=False)}" in page.text
    chinese = wx_share((await client.get(share_path)).text)
    assert chinese is not None and chinese["share"]["title"] == "《汽车买卖合同》待张三签署"
