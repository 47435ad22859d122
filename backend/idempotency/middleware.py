"""ASGI middleware: Idempotency-Key on every POST under /api/v1 (see services.py)."""

from __future__ import annotations

import json

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.asgi_body import read_body, replay_then
from backend.errors import AppError
from backend.idempotency import services
from backend.orgs.services import authenticate

API_PREFIX = "/api/v1/"
MAX_BODY = 2_000_000
REPLAYED_HEADER = b"idempotent-replayed"


async def _send_error(send: Send, err: AppError) -> None:
    body = json.dumps(err.to_json(), ensure_ascii=False).encode()
    await _send_response(send, err.status_code, "application/json", body, [])


async def _send_response(
    send: Send, status: int, content_type: str, body: bytes, extra: list[tuple[bytes, bytes]]
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") != "POST"
            or not scope.get("path", "").startswith(API_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = headers.get(b"idempotency-key", b"").decode("latin-1").strip()
        if not key:
            await self.app(scope, receive, send)
            return
        if len(key) > 255 or not key.isprintable():
            await _send_error(send, services.bad_key())
            return
        scheme, _, api_key = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        caller = await authenticate(api_key.strip()) if scheme.lower() == "bearer" else None
        if caller is None:  # the handler answers 401 in the one error shape
            await self.app(scope, receive, send)
            return

        read = await read_body(receive, MAX_BODY)
        if read is None:
            return  # the client went away
        body, more, whole = read
        if not whole:  # let the app refuse it (413); too big to remember
            await self.app(scope, replay_then(body, more, receive), send)
            return

        req_hash = services.request_hash(
            str(scope.get("method")), scope["path"], scope.get("query_string", b""), body
        )
        try:
            outcome = await services.begin(caller.organisation_id, key, req_hash)
        except AppError as err:
            await _send_error(send, err)
            return
        if isinstance(outcome, services.Replay):
            await _send_response(
                send,
                outcome.status_code,
                outcome.content_type,
                outcome.body,
                [(REPLAYED_HEADER, b"true")],
            )
            return

        status, content_type, sent = 500, "", bytearray()

        async def capture(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                sent.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_then(body, False, receive), capture)
        except BaseException:
            await services.forget(outcome.record_id)
            raise
        await services.finish(outcome.record_id, status, content_type, bytes(sent))
