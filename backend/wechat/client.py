"""The two calls of the WeChat Official Account API that the JS-SDK needs.

``GET /cgi-bin/token?grant_type=client_credential&appid=..&secret=..`` gives an access
token, ``GET /cgi-bin/ticket/getticket?access_token=..&type=jsapi`` a jsapi_ticket; both
live 7200 s. WeChat reports errors as ``{"errcode": 40001, "errmsg": ...}`` with HTTP 200,
so only a reply that carries the expected value and no non-zero errcode is a success.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import httpx

from backend.metrics import WECHAT_CALLS

logger = logging.getLogger("signlink.wechat")

# 40001 invalid credential, 40014 invalid access_token, 42001 access_token expired:
# the stored token is no good, a new one is worth one more try.
INVALID_TOKEN_CODES = frozenset({40001, 40014, 42001})
_SECRET_PARAM = re.compile(r"((?:secret|access_token)=)[^&\s\"']+")


def redact(text: str) -> str:
    """A URL or message with the AppSecret and access tokens blanked out."""
    return _SECRET_PARAM.sub(r"\1***", text)


class _RedactSecrets(logging.Filter):
    """httpx logs each request's full URL at INFO, and these URLs carry the AppSecret or
    an access token in the query: blank them before any handler sees the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(a, str | httpx.URL) for a in record.args
        ):
            record.args = tuple(
                redact(str(a)) if isinstance(a, str | httpx.URL) else a for a in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_RedactSecrets())


class WeChatError(Exception):
    """WeChat refused (``errcode``), did not answer in time, or answered something else.
    ``errcode`` is 0 for the last two. The message never carries a secret."""

    def __init__(self, call: str, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat {call}: errcode {errcode}: {redact(errmsg)}")
        self.call = call
        self.errcode = errcode
        self.errmsg = redact(errmsg)

    @property
    def invalid_token(self) -> bool:
        return self.errcode in INVALID_TOKEN_CODES


@dataclass(frozen=True)
class Issued:
    """An access token or a jsapi_ticket and for how many seconds WeChat accepts it."""

    value: str
    expires_in: int


class WeChatClient:
    """Speaks to ``api_base`` (https://api.weixin.qq.com, or a fake in tests)."""

    def __init__(self, api_base: str, app_id: str, app_secret: str, timeout: float) -> None:
        self.api_base = api_base.rstrip("/")
        self.app_id = app_id
        self._secret = app_secret
        self.timeout = httpx.Timeout(timeout)

    def __repr__(self) -> str:  # never the secret
        return f"WeChatClient({self.api_base!r}, app_id={self.app_id!r})"

    async def access_token(self) -> Issued:
        """A new access token. It invalidates the previous one (after a short grace)."""
        params = {"grant_type": "client_credential", "appid": self.app_id, "secret": self._secret}
        return await self._get("token", "/cgi-bin/token", params, "access_token")

    async def jsapi_ticket(self, access_token: str) -> Issued:
        params = {"access_token": access_token, "type": "jsapi"}
        return await self._get("getticket", "/cgi-bin/ticket/getticket", params, "ticket")

    async def _get(self, call: str, path: str, params: dict[str, str], key: str) -> Issued:
        try:
            issued = _issued(call, await self._answer(call, path, params), key)
        except WeChatError as exc:
            WECHAT_CALLS.labels(call, "refused" if exc.errcode else "unavailable").inc()
            raise
        WECHAT_CALLS.labels(call, "ok").inc()
        return issued

    async def _answer(self, call: str, path: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as http:
                reply = await http.get(self.api_base + path, params=params)
        except httpx.HTTPError as exc:
            raise WeChatError(call, 0, f"no answer ({type(exc).__name__})") from None
        if reply.status_code != 200:
            raise WeChatError(call, 0, f"HTTP {reply.status_code}")
        try:
            body = reply.json()
        except ValueError:
            raise WeChatError(call, 0, "the answer is not JSON") from None
        if not isinstance(body, dict):
            raise WeChatError(call, 0, "the answer is not a JSON object")
        errcode = body.get("errcode", 0)
        if errcode not in (0, None):
            try:
                code = int(errcode)
            except (TypeError, ValueError):
                code = -1
            raise WeChatError(call, code or -1, str(body.get("errmsg", "")))
        return body


def _issued(call: str, body: dict[str, Any], key: str) -> Issued:
    value = body.get(key)
    expires_in = body.get("expires_in")
    if not isinstance(value, str) or not value:
        raise WeChatError(call, 0, f"no {key} in the answer")
    if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
        raise WeChatError(call, 0, "no valid expires_in in the answer")
    return Issued(value, expires_in)
