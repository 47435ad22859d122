"""Rendered signer landing pages, kept per process and keyed by what they show.

``GET /s/<token>`` is the page every SMS link opens, and most of its cost was Jinja
rendering the same HTML again: the page is a pure function of the link's database rows
(the signer, the envelope, all its signers, the sender's name and the page count -- one
query, :func:`services.link_rows`), the page's language, and whether the deadline has
passed. :class:`LandingPageCache` wraps that one route handler:

- every request still reads those rows; the key is a digest of them, the token, the
  language and the deadline flag, so a state change anywhere (a signature, a decline, a
  void, a reminder that touches the signer row, another process's write) gives a new key
  and the page is rendered again -- there is nothing to invalidate and no time-to-live.
  On SQLite the rows are read as stored and converted to Python values only on a miss;
  on PostgreSQL the server returns an MD5 of the rows' text forms instead of the rows;
- on a miss the handler renders from the very rows the key was made from (handed over
  in ``scope["state"][ROWS]``, see :func:`context`) and sets ``KEEP`` only for a plain
  200 page whose request wrote nothing (the first view records ``signer.viewed`` and is
  never kept), so no page is ever filed under the key of other rows;
- only plain ``GET`` requests without a query string or htmx headers are served from it;
  the request-id, language, metrics and logging middlewares run as for any request.

Entries are bounded (least recently used out first); a worker process holds at most
``MAX_ENTRIES`` pages of ~10-20 KB.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any

from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send

from backend import i18n
from backend.database import is_sqlite, utcnow
from backend.envelopes import services
from backend.keys import sha256_hex

MAX_ENTRIES = 2048
ROWS = "signlink.landing.rows"  # scope["state"]: the rows the handler is to render from
KEEP = "signlink.landing.keep"  # set by the handler: nothing written, the page may be kept
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")

Headers = list[tuple[bytes, bytes]]


def page_key(token: str, rows: Any, expires_at: datetime) -> bytes:
    """What the landing page shows depends on exactly this: the link's rows (as stored on
    SQLite; on PostgreSQL the server's digest of them), the token (it is in the page's
    links), the language and whether the deadline has passed."""
    material = repr((token, i18n.current(), utcnow() > expires_at, rows)).encode()
    return hashlib.blake2b(material, digest_size=20).digest()


class RenderedPages:
    """A bounded LRU of ``key -> (response headers, body)``, safe across threads."""

    def __init__(self, limit: int = MAX_ENTRIES) -> None:
        self.limit = limit
        self._pages: OrderedDict[bytes, tuple[Headers, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0

    def get(self, key: bytes) -> tuple[Headers, bytes] | None:
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                return None
            self._pages.move_to_end(key)
            self.hits += 1
            return page

    def put(self, key: bytes, headers: Headers, body: bytes) -> None:
        with self._lock:
            self._pages[key] = (headers, body)
            self._pages.move_to_end(key)
            while len(self._pages) > self.limit:
                self._pages.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pages)


pages = RenderedPages()


def context(scope: Scope, token: str) -> services.SignerContext | None:
    """The signer's context from the rows the cache read for this request, if it did."""
    rows = scope.get("state", {}).get(ROWS)
    return None if rows is None else services.context_from_rows(rows, token)


def mark_cacheable(scope: Scope) -> None:
    """Called by the handler that renders from :func:`context` and wrote nothing."""
    scope.setdefault("state", {})[KEEP] = True


def _plain_get(scope: Scope) -> bool:
    if scope.get("method") != "GET" or scope.get("query_string"):
        return False
    return not any(name.startswith(b"hx-") for name, _ in scope.get("headers", ()))


class LandingPageCache:
    """Route middleware for the landing page: the kept page for the same rows, or the
    handler's page, kept if it says so (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = str(scope.get("path_params", {}).get("token", ""))
        if scope["type"] != "http" or not _plain_get(scope) or not _TOKEN.fullmatch(token):
            await self.app(scope, receive, send)
            return
        token_hash = sha256_hex(token)
        stored = services.link_rows_stored(token_hash)
        if stored is not None:  # SQLite: compare stored values, convert only on a miss
            names, values = stored
            if not values:
                await self.app(scope, receive, send)  # the handler's "link invalid"
                return
            key = page_key(token, values, services.stored_expiry(names, values))
        elif is_sqlite():  # busy, or inside a transaction: render as usual, keep nothing
            await self.app(scope, receive, send)
            return
        else:  # PostgreSQL: the server's digest of the same rows
            found = await services.link_digest(token_hash)
            if found is None:
                await self.app(scope, receive, send)
                return
            key = page_key(token, found[0], found[1])
        kept = pages.get(key)
        if kept is not None:
            headers, body = kept
            start: HTTPResponseStartEvent = {
                "type": "http.response.start",
                "status": 200,
                "headers": headers,
            }
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        if stored is not None:
            rows = services.convert_link_rows(names, values)
        else:  # the rows to render and their digest, from one statement
            rows, digest = await services.link_rows_digest(token_hash)
            if not rows:
                await self.app(scope, receive, send)
                return
            key = page_key(token, digest, rows[0]["e.expires_at"])
        scope.setdefault("state", {})[ROWS] = rows
        await self._render_and_keep(key, scope, receive, send)

    async def _render_and_keep(
        self, key: bytes, scope: Scope, receive: Receive, send: Send
    ) -> None:
        status = 0
        headers: Headers = []
        chunks: list[bytes] = []
        complete = False

        async def capture(message: Message) -> None:
            nonlocal status, headers, complete
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                complete = not message.get("more_body", False)
            await send(message)

        await self.app(scope, receive, capture)
        if not scope["state"].get(KEEP) or status != 200 or not complete:
            return
        if not any(k.lower() == b"set-cookie" for k, _ in headers):
            pages.put(key, headers, b"".join(chunks))
