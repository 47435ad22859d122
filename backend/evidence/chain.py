"""The per-envelope hash chain: how an event is hashed, and how a stored chain is checked.

Each event's hash covers the envelope id, its sequence number, kind, time (a canonical
UTC string, identical after a round trip through SQLite or PostgreSQL), actor, data and
the previous event's hash. :func:`verify_chain` does more than say yes or no: it names
each event that was changed, deleted, reordered or rewritten, so a person can act on it.

Pure functions, no database: the offline bundle verifier uses them unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from backend.evidence.kinds import label

GENESIS = "0" * 64
CHANGED = "changed"
DELETED = "deleted"
REORDERED = "reordered"
DUPLICATED = "duplicated"
TRUNCATED = "truncated"
REWRITTEN = "rewritten"
_SEQ_SEARCH = 64  # how far a moved event's original position is looked for


def canonical_time(moment: datetime | str) -> str:
    """``2026-11-22T01:35:49.415911Z``: fixed width, UTC, microseconds, for hashing."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    envelope_id: str, prev_hash: str, seq: int, kind: str, at: str, actor: str, data: Any
) -> str:
    body = json.dumps(
        {
            "envelope": str(envelope_id),
            "prev": prev_hash,
            "seq": seq,
            "kind": kind,
            "at": at,
            "actor": actor,
            "data": data,
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class ChainEvent:
    """One stored event as the verifier sees it (``at`` already canonical)."""

    seq: int
    kind: str
    at: str
    actor: str
    data: Any
    prev_hash: str
    hash: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ChainEvent:
        data = row.get("data", {})
        if isinstance(data, str):
            data = json.loads(data)
        return cls(
            seq=int(row["seq"]),
            kind=str(row["kind"]),
            at=canonical_time(row["at"]),
            actor=str(row.get("actor") or ""),
            data=data,
            prev_hash=str(row["prev_hash"]),
            hash=str(row["hash"]),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def hash_at(self, envelope_id: str, seq: int) -> str:
        return event_hash(
            envelope_id, self.prev_hash, seq, self.kind, self.at, self.actor, self.data
        )


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a stored chain, named by event sequence number."""

    problem: str
    """changed | deleted | reordered | duplicated | truncated | rewritten"""
    seq: int
    kind: str
    message: str
    message_en: str


@dataclass(frozen=True)
class ChainReport:
    envelope_id: str
    count: int
    head_seq: int
    head_hash: str
    findings: tuple[Finding, ...] = field(default=())

    @property
    def intact(self) -> bool:
        return not self.findings


def _changed(event: ChainEvent, how_zh: str, how_en: str) -> Finding:
    return Finding(
        CHANGED,
        event.seq,
        event.kind,
        f"第 {event.seq} 条事件（{label(event.kind)}）被篡改：{how_zh}",
        f"event #{event.seq} ({event.kind}) was changed: {how_en}",
    )


def verify_chain(
    envelope_id: str,
    events: Iterable[ChainEvent],
    *,
    sealed: tuple[int, str] | None = None,
) -> ChainReport:
    """Recompute the chain of ``events`` (in stored order) and name every break.

    ``sealed`` is a ``(seq, hash)`` proven by a timestamp or an anchor: the chain must
    still contain exactly that event, or it was truncated or rewritten after the proof.
    """
    rows = sorted(events, key=lambda e: e.seq)
    findings: list[Finding] = []
    original: dict[int, int] = {}  # index in rows -> the sequence number the event was hashed at
    content_ok: dict[int, bool] = {}
    for i, ev in enumerate(rows):
        if ev.hash_at(envelope_id, ev.seq) == ev.hash:
            original[i], content_ok[i] = ev.seq, True
            continue
        content_ok[i] = False
        moved_from = next(
            (
                s
                for s in range(max(1, ev.seq - _SEQ_SEARCH), ev.seq + _SEQ_SEARCH + 1)
                if s != ev.seq and ev.hash_at(envelope_id, s) == ev.hash
            ),
            None,
        )
        if moved_from is not None:
            original[i] = moved_from
            findings.append(
                Finding(
                    REORDERED,
                    ev.seq,
                    ev.kind,
                    f"第 {ev.seq} 条事件（{label(ev.kind)}）原为第 {moved_from} 条：事件顺序被调换",
                    f"event #{ev.seq} ({ev.kind}) was originally #{moved_from}: events reordered",
                )
            )
        else:
            original[i] = ev.seq
            findings.append(
                _changed(ev, "内容与其哈希不符", "its content no longer matches its hash")
            )

    counts = Counter(original.values())
    for seq, n in sorted(counts.items()):
        if n > 1:
            ev = next(rows[i] for i, s in original.items() if s == seq)
            findings.append(
                Finding(
                    DUPLICATED,
                    seq,
                    ev.kind,
                    f"第 {seq} 条事件出现 {n} 次：链被分叉或插入了伪造事件",
                    f"event #{seq} appears {n} times: the chain forked or a forged event was added",
                )
            )
    present = set(counts)
    last = max(present, default=0)
    for seq in range(1, last + 1):
        if seq not in present:
            findings.append(
                Finding(
                    DELETED,
                    seq,
                    "",
                    f"第 {seq} 条事件被删除",
                    f"event #{seq} was deleted",
                )
            )

    # Links, in original order: each event must point at the hash of the one before it.
    by_original = sorted(original.items(), key=lambda item: item[1])
    previous: tuple[int, int] | None = None
    for i, seq in by_original:
        ev = rows[i]
        if seq == 1 and ev.prev_hash != GENESIS and content_ok[i]:
            findings.append(_changed(ev, "链首被替换", "the start of the chain was replaced"))
        if previous is not None and previous[1] == seq - 1 and content_ok[i]:
            before = rows[previous[0]]
            if ev.prev_hash != before.hash and content_ok[previous[0]]:
                findings.append(
                    _changed(
                        before,
                        f"其哈希被重新计算，第 {seq} 条事件记录的前序哈希已对不上",
                        f"its hash was recomputed; event #{seq} no longer links to it",
                    )
                )
        previous = (i, seq)

    head = rows[-1] if rows else None
    if sealed is not None:
        sealed_seq, sealed_hash = sealed
        at_seal = [rows[i] for i, s in original.items() if s == sealed_seq]
        if not at_seal:
            findings.append(
                Finding(
                    TRUNCATED,
                    sealed_seq,
                    "",
                    f"封存时事件链有 {sealed_seq} 条，现在第 {last + 1}–{sealed_seq} 条"
                    "已不存在：事件被删除",
                    f"the sealed chain had {sealed_seq} events; events #{last + 1}–#{sealed_seq} "
                    "were deleted",
                )
            )
        elif all(ev.hash != sealed_hash for ev in at_seal):
            ev = at_seal[0]
            findings.append(
                Finding(
                    REWRITTEN,
                    sealed_seq,
                    ev.kind,
                    f"第 {sealed_seq} 条事件的哈希与时间戳证明的不一致：封存后事件链被重写",
                    f"event #{sealed_seq} no longer has the hash the timestamp proves: "
                    "the chain was rewritten after sealing",
                )
            )
    findings.sort(key=lambda f: (f.seq, f.problem))
    return ChainReport(
        envelope_id=str(envelope_id),
        count=len(rows),
        head_seq=head.seq if head else 0,
        head_hash=head.hash if head else GENESIS,
        findings=tuple(findings),
    )


def document_hashes(events: Iterable[ChainEvent]) -> list[str]:
    """Every document SHA-256 the chain vouches for, oldest first."""
    found: list[str] = []
    for ev in events:
        data = ev.data if isinstance(ev.data, dict) else {}
        for key in ("document_sha256", "document_sha256_after"):
            value = data.get(key)
            if isinstance(value, str) and value not in found:
                found.append(value)
    return found
