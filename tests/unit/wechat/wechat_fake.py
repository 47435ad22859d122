"""A local HTTP server that speaks the WeChat Official Account API the JS-SDK needs.

``GET /cgi-bin/token?grant_type=client_credential&appid=..&secret=..`` checks the AppID
(40013 invalid appid) and the AppSecret (40125 invalid appsecret) and issues a new access
token, which invalidates the previous one at once (real WeChat gives it a few minutes'
grace; none here, so a test sees any process that keeps a stale token). ``GET
/cgi-bin/ticket/getticket?access_token=..&type=jsapi`` answers 40001 for an unknown or
replaced token, 40097 for a type other than jsapi, and otherwise a new ticket. Errors come
as WeChat sends them: HTTP 200 and ``{"errcode", "errmsg"}``. Every call is counted.

``mode`` makes it misbehave: ``slow`` (answers after ``slow_seconds``), ``garbage`` (not
JSON), ``no_ticket`` (errcode 0 but no ticket), ``reject_tokens`` (getticket answers 40001
whatever the token).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

APP_ID = "wx1234567890abcdef"
APP_SECRET = "fake-app-secret-0123456789abcdef"


class FakeWeChat:
    def __init__(self, app_id: str = APP_ID, expires_in: int = 7200) -> None:
        self.app_id = app_id
        self.expires_in = expires_in
        self.mode = ""
        self.slow_seconds = 2.0
        # Seconds each token/ticket call takes: widens the window for racing processes.
        self.delay = 0.0
        self.calls: Counter[str] = Counter()
        self.tokens: list[str] = []
        self.tickets: list[str] = []
        self.current_token = ""
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeWeChat:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def invalidate_token(self) -> None:
        """As if another system with the same AppID had fetched a token."""
        with self._lock:
            self.current_token = ""

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = dict(parse_qsl(parts.query))
        if self.delay:
            time.sleep(self.delay)
        if parts.path == "/cgi-bin/token":
            self.calls["token"] += 1
            body = self._token(query)
        elif parts.path == "/cgi-bin/ticket/getticket":
            self.calls["getticket"] += 1
            body = self._ticket(query)
        else:
            h.send_response(404)
            h.end_headers()
            return
        if self.mode == "slow":
            time.sleep(self.slow_seconds)
        raw = json.dumps(body).encode()
        if self.mode == "garbage":
            raw = b"<html>502 Bad Gateway</html>"
        try:
            h.send_response(200)
            h.send_header("Content-Type", "application/json; encoding=utf-8")
            h.send_header("Content-Length", str(len(raw)))
            h.end_headers()
            h.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting ("slow"): that was the point

    def _token(self, query: dict[str, str]) -> dict[str, Any]:
        if query.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        if query.get("appid") != self.app_id:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if query.get("secret") != APP_SECRET:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        with self._lock:
            token = "TOKEN-" + secrets.token_urlsafe(24)
            self.current_token = token  # the previous one stops working
            self.tokens.append(token)
        return {"access_token": token, "expires_in": self.expires_in}

    def _ticket(self, query: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            valid = bool(query.get("access_token")) and query["access_token"] == self.current_token
        if not valid or self.mode == "reject_tokens":
            return {
                "errcode": 40001,
                "errmsg": "invalid credential, access_token is invalid or not latest",
            }
        if query.get("type") != "jsapi":
            return {"errcode": 40097, "errmsg": "invalid args"}
        if self.mode == "no_ticket":
            return {"errcode": 0, "errmsg": "ok"}
        with self._lock:
            ticket = "TICKET-" + secrets.token_urlsafe(40)
            self.tickets.append(ticket)
        return {"errcode": 0, "errmsg": "ok", "ticket": ticket, "expires_in": self.expires_in}
