"""Requests holding U+0000 (NUL) are refused with a 400 before any handler or query runs.

PostgreSQL text cannot hold NUL (SQLite stores it), so a NUL in a link, a query
parameter, a JSON field or a form field used to end as a database error: a 503 on
PostgreSQL, a stored NUL on SQLite. No person types one; it comes from a broken client or
a fuzzer. The guard answers both databases alike, naming where the character was:

- the path (``/s/<token>%00``) and the query string (``?q=%00``);
- JSON bodies, by field path as the other field errors name them (``data.buyer.name``,
  ``signers[1].phone``): a JSON NUL can only be written ``\\u0000``, so bodies without
  that sequence are passed on unparsed;
- URL-encoded form bodies (the htmx pages).

Multipart bodies (uploads) are passed on: a file may hold NUL bytes legitimately.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from litestar.types import ASGIApp, Receive, Scope, Send

from backend.asgi_body import read_body, replay_then
from backend.errors import AppError, FieldProblem

MAX_BODY = 2_000_000  # larger bodies go on unchecked; every JSON or form route takes less
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ZH = "含有空字符（U+0000），无法保存，请删除该字符后重试。"
_EN = "contains a NUL character (U+0000), which cannot be stored; remove it and try again."


class NulGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"]:  # the server has decoded %00
            raise _refused([FieldProblem("path", "链接" + _ZH, "The link " + _EN)])
        query = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            raise _refused(_form_problems(query, "query"))
        if scope.get("method") not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        kind = _body_kind(scope)
        if kind is None:
            await self.app(scope, receive, send)
            return

        read = await read_body(receive, MAX_BODY)
        if read is None:
            return  # the client went away
        body, more, whole = read
        if whole:  # a longer body goes on: the route refuses it
            problems = _json_problems(body) if kind == "json" else _form_problems(body, "")
            if problems:
                raise _refused(problems)
        await self.app(scope, replay_then(body, more, receive), send)


def _refused(problems: list[FieldProblem]) -> AppError:
    # validation_failed, as every field error; the message alone is what a page shows
    return AppError(
        code="validation_failed",
        message="提交的内容" + _ZH,
        message_en="The request " + _EN,
        fields=problems,
    )


def _body_kind(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            if media == b"application/json" or media.endswith(b"+json"):
                return "json"
            if media == b"application/x-www-form-urlencoded":
                return "form"
            return None
    return None


def _json_problems(body: bytes) -> list[FieldProblem]:
    if b"\\u0000" not in body:
        return []
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return []  # not JSON (or absurdly deep): the route answers that in its own words
    return [_problem(path) for path in _nul_paths(document)]


def _nul_paths(document: Any) -> list[str]:
    """Where strings holding NUL are, as field paths (depth-first, without recursion)."""
    found: list[str] = []
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                found.append(path or "body")
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                if "\x00" in key:  # a NUL in a name: named by where the name is
                    found.append(path or "body")
                else:
                    stack.append((f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in reversed(list(enumerate(value))))
    return list(dict.fromkeys(found))


def _form_problems(encoded: bytes, prefix: str) -> list[FieldProblem]:
    if b"%00" not in encoded and b"\x00" not in encoded:
        return []
    pairs = parse_qsl(encoded.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
    paths = [
        name if "\x00" not in name else prefix or "body"
        for name, value in pairs
        if "\x00" in name or "\x00" in value
    ]
    return [_problem(path) for path in dict.fromkeys(paths)] or [_problem(prefix or "body")]


def _problem(path: str) -> FieldProblem:
    path = path if len(path) <= 100 else path[:99] + "…"
    return FieldProblem(path, f"{path} {_ZH}", f"{path} {_EN}")
