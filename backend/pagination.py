"""Cursor pagination for API lists: newest first, stable under inserts.

A cursor names the last row of a page by (created_at, id); the next page is everything
strictly older in that order. It is opaque to clients (URL-safe base64).
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

from piccolo.columns import Column
from piccolo.columns.combination import Combinable

from backend.errors import AppError, FieldProblem

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad(path: str, zh: str, en: str) -> AppError:
    return AppError(
        "validation_failed",
        "请求内容有误，请按字段提示修改后重试。",
        "The request has invalid fields; fix them and try again.",
        fields=[FieldProblem(path, zh, en)],
    )


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, row_id = raw.partition("|")
        return datetime.fromisoformat(at), uuid.UUID(row_id)
    except (ValueError, UnicodeDecodeError):
        raise _bad(
            "cursor",
            "cursor 无效：请使用上一页返回的 next_cursor 原样传入。",
            "Invalid cursor: pass next_cursor from the previous page unchanged.",
        ) from None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise _bad(
            "limit",
            f"limit 应为 1–{MAX_LIMIT} 的整数。",
            f"limit must be between 1 and {MAX_LIMIT}.",
        )
    return limit


def older_than(created_at: Column, row_id: Column, cursor: str | None) -> Combinable | None:
    """The WHERE clause for the page after `cursor` (None on the first page)."""
    if not cursor:
        return None
    at, last_id = decode_cursor(cursor)
    return (created_at < at) | ((created_at == at) & (row_id < last_id))


def next_cursor(rows: list[Any], limit: int) -> str | None:
    """Call with up to limit + 1 rows fetched: a cursor only when there is another page."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    if isinstance(last, dict):
        return encode_cursor(last["created_at"], last["id"])
    return encode_cursor(last.created_at, last.id)
