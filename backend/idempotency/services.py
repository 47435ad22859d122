"""Idempotency-Key rules: one stored response per (organisation, key) for 24 hours.

Same key and same request: the first response again, byte for byte. Same key and a
different request: 409. A key whose first request is still running: 409 (retry later).
A 5xx answer is not stored, so the client may retry it with the same key.
"""

from __future__ import annotations

import random
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import timedelta

from asyncpg.exceptions import UniqueViolationError

from backend.database import utcnow
from backend.errors import AppError
from backend.idempotency.tables import IdempotentRequest
from backend.keys import sha256_hex

TTL = timedelta(hours=24)
# A first request that never finished (its process died) stops blocking the key after this.
ABANDONED = timedelta(minutes=2)


@dataclass(frozen=True)
class Started:
    record_id: uuid.UUID


@dataclass(frozen=True)
class Replay:
    status_code: int
    content_type: str
    body: bytes


def request_hash(method: str, path: str, query: bytes, body: bytes) -> str:
    return sha256_hex(method.encode() + b" " + path.encode() + b"?" + query + b"\n" + body)


def key_reused() -> AppError:
    return AppError(
        "idempotency_key_reused",
        "该 Idempotency-Key 已用于另一个不同的请求，请为新请求换一个新的键。",
        "This Idempotency-Key was used with a different request; use a new key.",
        409,
    )


def in_progress() -> AppError:
    return AppError(
        "idempotency_in_progress",
        "使用该 Idempotency-Key 的请求仍在处理中，请稍后重试。",
        "A request with this Idempotency-Key is still being processed; retry shortly.",
        409,
    )


def bad_key() -> AppError:
    return AppError(
        "idempotency_key_invalid",
        "Idempotency-Key 应为 1–255 个可见字符。",
        "Idempotency-Key must be 1–255 visible characters.",
        400,
    )


async def begin(organisation_id: uuid.UUID, key: str, req_hash: str) -> Started | Replay:
    """Claim the key for this request, or return the stored response; raises on conflict."""
    now = utcnow()
    if random.random() < 0.01:  # housekeeping, now and then
        await IdempotentRequest.delete().where(IdempotentRequest.created_at < now - TTL)
    scope = sha256_hex(f"{organisation_id}:{key}")
    row = await IdempotentRequest.select().where(IdempotentRequest.scope_hash == scope).first()
    stale = row is not None and (
        row["created_at"] < now - TTL
        or (row["status_code"] is None and row["created_at"] < now - ABANDONED)
    )
    if row is not None and stale:
        await IdempotentRequest.delete().where(IdempotentRequest.id == row["id"])
        row = None
    if row is None:
        record_id = uuid.uuid4()
        try:
            await IdempotentRequest.insert(
                IdempotentRequest(
                    id=record_id, scope_hash=scope, request_hash=req_hash, created_at=now
                )
            )
            return Started(record_id)
        except (sqlite3.IntegrityError, UniqueViolationError):
            # Another request with the same key got in first.
            row = (
                await IdempotentRequest.select()
                .where(IdempotentRequest.scope_hash == scope)
                .first()
            )
            if row is None:
                raise in_progress() from None
    if row["request_hash"] != req_hash:
        raise key_reused()
    if row["status_code"] is None:
        raise in_progress()
    return Replay(row["status_code"], row["content_type"], bytes(row["body"] or b""))


async def finish(record_id: uuid.UUID, status_code: int, content_type: str, body: bytes) -> None:
    if status_code >= 500:
        await IdempotentRequest.delete().where(IdempotentRequest.id == record_id)
        return
    await IdempotentRequest.update(
        {
            IdempotentRequest.status_code: status_code,
            IdempotentRequest.content_type: content_type,
            IdempotentRequest.body: body,
        }
    ).where(IdempotentRequest.id == record_id)


async def forget(record_id: uuid.UUID) -> None:
    await IdempotentRequest.delete().where(IdempotentRequest.id == record_id)
