"""The jsapi_ticket shared by every app process, and the wx.config of one page."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import secrets
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backend.config import Settings
from backend.database import utcnow
from backend.keys import seal_bytes, unseal_bytes
from backend.metrics import WECHAT_SHARE_PAGES
from backend.wechat.client import Issued, WeChatClient, WeChatError
from backend.wechat.tables import WeChatCredential

logger = logging.getLogger("signlink.wechat")

# Refresh this long before WeChat's expiry, so a page never signs with a dying ticket.
REFRESH_MARGIN = timedelta(minutes=5)
# After a failed look-up this process does not ask again for a while: WeChat allows only
# 2000 token calls a day, and a wrong secret must not spend them one share page at a time.
RETRY_AFTER = timedelta(seconds=60)
JS_API_LIST = ("updateAppMessageShareData", "updateTimelineShareData")
# Tokens and tickets are stored sealed (AES-GCM, a key derived from the master key): the
# access token opens the Official Account's API to whoever reads the row.
_SEAL_PURPOSE = "signlink/wechat/v1"
# How often a process that waits for another one's refresh looks at the row again.
_POLL_SECONDS = 0.1


def signature(jsapi_ticket: str, noncestr: str, timestamp: int | str, url: str) -> str:
    """JS-SDK signature (WeChat JS-SDK documentation, appendix 1): SHA-1 of the four fields
    sorted by name, ``key=value`` joined by ``&``, raw values, the URL without its fragment."""
    fields = {
        "jsapi_ticket": jsapi_ticket,
        "noncestr": noncestr,
        "timestamp": str(timestamp),
        "url": url.split("#", 1)[0],
    }
    text = "&".join(f"{key}={value}" for key, value in sorted(fields.items()))
    return hashlib.sha1(text.encode()).hexdigest()


@dataclass(frozen=True)
class ShareConfig:
    """What ``wx.config`` needs for one page URL."""

    app_id: str
    timestamp: int
    nonce_str: str
    signature: str

    def wx_config(self) -> dict[str, Any]:
        return {
            "appId": self.app_id,
            "timestamp": self.timestamp,
            "nonceStr": self.nonce_str,
            "signature": self.signature,
            "jsApiList": list(JS_API_LIST),
        }


class JsapiTickets:
    """The current jsapi_ticket of one Official Account.

    Kept in this process until shortly before it expires (a share page costs no query),
    and in the ``wechat_credential`` row for every other process. When the row's ticket is
    due, one process claims the refresh with a conditional UPDATE (PostgreSQL locks the row
    and re-checks the condition; SQLite runs one writer at a time), asks WeChat, and writes
    the new access token and ticket back; the others keep using the old ticket while it is
    still valid, or wait for the new one. Within a process an asyncio lock makes concurrent
    pages wait for one look-up, and a failed look-up is not repeated for ``retry_after``.
    """

    def __init__(
        self,
        client: WeChatClient,
        *,
        margin: timedelta = REFRESH_MARGIN,
        retry_after: timedelta = RETRY_AFTER,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.client = client
        self.app_id = client.app_id
        self.margin = margin
        self.now = now
        # Three calls at most (token, getticket, and both again after an invalid token).
        self.lease = timedelta(seconds=4 * float(client.timeout.read or 5.0) + 5)
        self.retry_after = retry_after
        self._cached: tuple[str, datetime] | None = None
        self._failed: tuple[WeChatError, datetime] | None = None
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    def _fresh(self, expires_at: datetime | None) -> bool:
        return expires_at is not None and self.now() < expires_at - self.margin

    async def ticket(self) -> str:
        """The ticket to sign pages with; raises :class:`WeChatError` if there is none."""
        if self._cached and self._fresh(self._cached[1]):
            return self._cached[0]
        async with self._lock():
            if self._cached and self._fresh(self._cached[1]):
                return self._cached[0]
            if self._failed and self.now() < self._failed[1]:
                failed = self._failed[0]
                raise WeChatError(failed.call, failed.errcode, failed.errmsg)
            try:
                value, expires_at = await self._shared()
            except WeChatError as exc:
                self._failed = (exc, self.now() + self.retry_after)
                raise
            self._cached, self._failed = (value, expires_at), None
            return value

    async def _shared(self) -> tuple[str, datetime]:
        give_up = time.monotonic() + self.lease.total_seconds()
        while True:
            row, claimed = await self._claim()
            if claimed:
                return await self._refresh(row)
            ticket, expires_at = row["jsapi_ticket"], row["jsapi_ticket_expires_at"]
            if ticket and expires_at is not None and self.now() < expires_at:
                # Fresh, or due but still valid while another process refreshes it.
                return ticket, expires_at
            if time.monotonic() > give_up:
                raise WeChatError("getticket", 0, "another process's refresh did not finish")
            await asyncio.sleep(_POLL_SECONDS)

    async def _claim(self) -> tuple[dict[str, Any], bool]:
        """The row (token and ticket opened), and whether this process is to refresh it."""
        row, claimed = await self._claim_row()
        opened = {**row}
        for column in ("access_token", "jsapi_ticket"):
            opened[column] = stored_value(row[column])
            if row[column] and not opened[column]:  # unreadable: as good as expired
                opened[f"{column}_expires_at"] = None
        return opened, claimed

    async def _claim_row(self) -> tuple[dict[str, Any], bool]:
        now = self.now()
        rows = await WeChatCredential.select().where(WeChatCredential.app_id == self.app_id)
        if not rows:
            await WeChatCredential.insert(
                WeChatCredential(app_id=self.app_id, updated_at=now)
            ).on_conflict(action="DO NOTHING")
        elif rows[0]["jsapi_ticket"] and not stored_value(rows[0]["jsapi_ticket"]):
            # unreadable (written before sealing, or under another master key): expired
            await WeChatCredential.update({WeChatCredential.jsapi_ticket_expires_at: None}).where(
                (WeChatCredential.app_id == self.app_id)
                & (WeChatCredential.jsapi_ticket == rows[0]["jsapi_ticket"])
            )
        elif self._fresh(rows[0]["jsapi_ticket_expires_at"]) and rows[0]["jsapi_ticket"]:
            return rows[0], False
        due = WeChatCredential.jsapi_ticket_expires_at.is_null() | (
            WeChatCredential.jsapi_ticket_expires_at <= now + self.margin
        )
        free = WeChatCredential.refreshing_until.is_null() | (
            WeChatCredential.refreshing_until < now
        )
        won = (
            await WeChatCredential.update({WeChatCredential.refreshing_until: now + self.lease})
            .where((WeChatCredential.app_id == self.app_id) & due & free)
            .returning(*WeChatCredential.all_columns())
        )
        if won:
            return won[0], True
        rows = await WeChatCredential.select().where(WeChatCredential.app_id == self.app_id)
        return rows[0], False

    async def _refresh(self, row: dict[str, Any]) -> tuple[str, datetime]:
        """Ask WeChat (this process holds the claim); always write back what was learnt."""
        changes: dict[Any, Any] = {WeChatCredential.refreshing_until: None}
        token = row["access_token"] if self._fresh(row["access_token_expires_at"]) else ""

        async def new_token() -> str:
            issued = await self.client.access_token()
            # Saved even if the ticket then fails: this token has replaced the old one.
            changes[WeChatCredential.access_token] = _sealed(issued.value)
            changes[WeChatCredential.access_token_expires_at] = self._expiry(issued)
            return issued.value

        try:
            if not token:
                token = await new_token()
            try:
                ticket = await self.client.jsapi_ticket(token)
            except WeChatError as exc:
                if not exc.invalid_token or WeChatCredential.access_token in changes:
                    raise
                # Someone else (another system with the same AppID) replaced our token.
                ticket = await self.client.jsapi_ticket(await new_token())
            expires_at = self._expiry(ticket)
            changes[WeChatCredential.jsapi_ticket] = _sealed(ticket.value)
            changes[WeChatCredential.jsapi_ticket_expires_at] = expires_at
            return ticket.value, expires_at
        finally:
            changes[WeChatCredential.updated_at] = self.now()
            await WeChatCredential.update(changes).where(WeChatCredential.app_id == self.app_id)

    def _expiry(self, issued: Issued) -> datetime:
        return self.now() + timedelta(seconds=issued.expires_in)


class JsSdk:
    """The WeChat JS-SDK configuration of share pages for one Official Account."""

    def __init__(self, tickets: JsapiTickets) -> None:
        self.tickets = tickets
        self.app_id = tickets.app_id

    @classmethod
    def from_settings(cls, settings: Settings) -> JsSdk | None:
        """None unless both the AppID and the AppSecret are set."""
        if not (settings.wechat_app_id and settings.wechat_app_secret):
            return None
        client = WeChatClient(
            settings.wechat_api_base,
            settings.wechat_app_id,
            settings.wechat_app_secret,
            settings.wechat_timeout_seconds,
        )
        return cls(JsapiTickets(client))

    async def share_config(self, url: str) -> ShareConfig | None:
        """The signed configuration for the page at ``url`` (exactly as the browser has
        it), or None if WeChat cannot be asked now: the page then goes out with its og:
        tags only, and this is logged and counted."""
        try:
            ticket = await self.tickets.ticket()
        except WeChatError as exc:
            logger.warning(
                "no WeChat jsapi_ticket: share page without JS-SDK configuration",
                extra={"fields": {"call": exc.call, "errcode": exc.errcode, "errmsg": exc.errmsg}},
            )
            WECHAT_SHARE_PAGES.labels("unavailable").inc()
            return None
        except Exception as exc:  # the database, say: the page still renders
            logger.warning(
                "no WeChat jsapi_ticket: share page without JS-SDK configuration",
                extra={"fields": {"error": type(exc).__name__}},
            )
            WECHAT_SHARE_PAGES.labels("unavailable").inc()
            return None
        timestamp = int(self.tickets.now().timestamp())
        nonce = secrets.token_hex(8)
        WECHAT_SHARE_PAGES.labels("configured").inc()
        return ShareConfig(self.app_id, timestamp, nonce, signature(ticket, nonce, timestamp, url))


def _sealed(value: str) -> str:
    return base64.b64encode(seal_bytes(value.encode(), _SEAL_PURPOSE)).decode()


def stored_value(stored: str) -> str:
    """The token or ticket a stored column holds; "" when it is empty or unreadable (a
    row written before sealing, or under another master key): it is then fetched again."""
    if not stored:
        return ""
    try:
        return unseal_bytes(base64.b64decode(stored, validate=True), _SEAL_PURPOSE).decode()
    except (ValueError, binascii.Error):
        return ""
