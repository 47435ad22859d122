"""The JS-SDK signature and the WeChat API client, against a local server that speaks the
protocol (tests/unit/wechat/wechat_fake.py)."""

from __future__ import annotations

import logging

import pytest

from backend.wechat import JsSdk, WeChatClient, WeChatError, signature
from backend.wechat.client import redact
from tests.unit.wechat.wechat_fake import APP_ID, APP_SECRET, FakeWeChat


@pytest.fixture
def fake():
    server = FakeWeChat().start()
    yield server
    server.stop()


def client(fake: FakeWeChat, app_id: str = APP_ID, secret: str = APP_SECRET, timeout=2.0):
    return WeChatClient(fake.url, app_id, secret, timeout)


def test_signature_matches_the_documented_example() -> None:
    # WeChat JS-SDK documentation, appendix 1 (JS-SDK使用权限签名算法).
    ticket = (
        "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
    )
    url = "http://mp.weixin.qq.com?params=value"
    expected = "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
    assert signature(ticket, "Wm3WZYTPz0wzccnW", 1414587457, url) == expected
    assert signature(ticket, "Wm3WZYTPz0wzccnW", "1414587457", url) == expected
    # The fragment is not part of the signed URL; anything else changes the signature.
    assert signature(ticket, "Wm3WZYTPz0wzccnW", 1414587457, url + "#top") == expected
    assert signature(ticket, "Wm3WZYTPz0wzccnW", 1414587457, url + "&x=1") != expected
    assert signature(ticket, "Wm3WZYTPz0wzccnX", 1414587457, url) != expected


async def test_token_then_ticket(fake) -> None:
    wechat = client(fake)
    token = await wechat.access_token()
    assert token.value == fake.tokens[-1] and token.expires_in == 7200
    ticket = await wechat.jsapi_ticket(token.value)
    assert ticket.value == fake.tickets[-1] and ticket.expires_in == 7200
    assert fake.calls == {"token": 1, "getticket": 1}


async def test_a_new_token_invalidates_the_old_one(fake) -> None:
    wechat = client(fake)
    old = await wechat.access_token()
    await wechat.access_token()
    with pytest.raises(WeChatError) as refused:
        await wechat.jsapi_ticket(old.value)
    assert refused.value.errcode == 40001 and refused.value.invalid_token


@pytest.mark.parametrize(
    ("app_id", "secret", "errcode"),
    [(APP_ID, "wrong-secret", 40125), ("wx0000000000000000", APP_SECRET, 40013)],
)
async def test_wechat_refusals_are_errors_without_the_secret(fake, app_id, secret, errcode):
    with pytest.raises(WeChatError) as refused:
        await client(fake, app_id, secret).access_token()
    assert refused.value.errcode == errcode and not refused.value.invalid_token
    assert secret not in str(refused.value) and secret not in repr(client(fake, app_id, secret))


@pytest.mark.parametrize("mode", ["garbage", "no_ticket", "slow"])
async def test_anything_but_the_documented_answer_is_an_error(fake, mode) -> None:
    wechat = client(fake, timeout=0.5)
    token = await wechat.access_token()
    fake.mode = mode
    with pytest.raises(WeChatError) as failed:
        await wechat.jsapi_ticket(token.value)
    assert failed.value.errcode == 0  # not WeChat's refusal: no answer, or not a ticket


async def test_unreachable_wechat_is_an_error() -> None:
    with pytest.raises(WeChatError):
        await WeChatClient("http://127.0.0.1:9", APP_ID, APP_SECRET, 0.5).access_token()


async def test_the_request_log_never_shows_the_secret_or_a_token(fake, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # the app sets it to WARNING
    wechat = client(fake)
    token = await wechat.access_token()
    await wechat.jsapi_ticket(token.value)
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert "/cgi-bin/token" in logged  # httpx did log the requests ...
    assert APP_SECRET not in logged and token.value not in logged  # ... blanked
    assert redact("a?secret=abc&x=1&access_token=t") == "a?secret=***&x=1&access_token=***"


def test_no_configuration_without_app_id_and_secret() -> None:
    from backend.config import Settings

    assert JsSdk.from_settings(Settings()) is None
    assert JsSdk.from_settings(Settings(wechat_app_id=APP_ID)) is None
    configured = JsSdk.from_settings(Settings(wechat_app_id=APP_ID, wechat_app_secret="s"))
    assert configured is not None and configured.app_id == APP_ID
