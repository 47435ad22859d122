"""Append-only, hash-chained audit events. Call inside the transaction of the change."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from backend.database import utcnow
from backend.evidence.tables import AuditEvent

GENESIS = "0" * 64


def event_hash(prev_hash: str, seq: int, kind: str, at: str, actor: str, data: Any) -> str:
    body = json.dumps(
        {"prev": prev_hash, "seq": seq, "kind": kind, "at": at, "actor": actor, "data": data},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


async def append_event(
    envelope_id: uuid.UUID, kind: str, *, actor: str = "", data: dict[str, Any] | None = None
) -> AuditEvent:
    data = data or {}
    last = (
        await AuditEvent.select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.envelope == envelope_id)
        .order_by(AuditEvent.seq, ascending=False)
        .first()
    )
    seq = 1 if last is None else last["seq"] + 1
    prev = GENESIS if last is None else last["hash"]
    at = utcnow()
    event = AuditEvent(
        id=uuid.uuid4(),
        envelope=envelope_id,
        seq=seq,
        kind=kind,
        at=at,
        actor=actor,
        data=data,
        prev_hash=prev,
        hash=event_hash(prev, seq, kind, at.isoformat(), actor, data),
    )
    await event.save()
    return event


async def events_for(envelope_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = (
        await AuditEvent.select().where(AuditEvent.envelope == envelope_id).order_by(AuditEvent.seq)
    )
    for row in rows:
        if isinstance(row["data"], str):
            row["data"] = json.loads(row["data"])
    return rows


def chain_is_intact(events: list[dict[str, Any]]) -> bool:
    prev = GENESIS
    for i, ev in enumerate(events, start=1):
        at = ev["at"].isoformat() if hasattr(ev["at"], "isoformat") else str(ev["at"])
        expected = event_hash(prev, i, ev["kind"], at, ev["actor"], ev["data"])
        if ev["seq"] != i or ev["prev_hash"] != prev or ev["hash"] != expected:
            return False
        prev = ev["hash"]
    return True
