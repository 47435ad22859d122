"""The per-envelope hash chain: canonical time, and tampering found and named."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta, timezone

from backend.evidence.chain import (
    GENESIS,
    ChainEvent,
    canonical_time,
    event_hash,
    verify_chain,
)
from backend.evidence.masking import mask_personal_data

ENVELOPE = str(uuid.UUID(int=42))
KINDS = [
    "envelope.created",
    "envelope.sent",
    "signer.notified",
    "signer.viewed",
    "signer.read",
    "intent.confirmed",
    "signer.signed",
    "envelope.completed",
]


def build_chain(envelope: str = ENVELOPE) -> list[ChainEvent]:
    events = []
    prev = GENESIS
    start = datetime(2026, 11, 22, 1, 2, 3, 456789, tzinfo=UTC)
    for seq, kind in enumerate(KINDS, start=1):
        at = canonical_time(start + timedelta(seconds=seq))
        data = {"n": seq, "名字": "张三"}
        digest = event_hash(envelope, prev, seq, kind, at, "buyer", data)
        events.append(ChainEvent(seq, kind, at, "buyer", data, prev, digest))
        prev = digest
    return events


def rehash(event: ChainEvent, envelope: str = ENVELOPE) -> ChainEvent:
    return dataclasses.replace(event, hash=event.hash_at(envelope, event.seq))


def problems(report) -> list[tuple[str, int]]:
    return [(f.problem, f.seq) for f in report.findings]


def test_canonical_time_survives_every_database_representation():
    moment = datetime(2026, 11, 22, 9, 30, 0, 120, tzinfo=timezone(timedelta(hours=8)))
    expected = "2026-11-22T01:30:00.000120Z"
    assert canonical_time(moment) == expected
    assert canonical_time(moment.astimezone(UTC)) == expected
    # SQLite hands back ISO text; PostgreSQL an aware datetime; some drivers naive UTC.
    assert canonical_time("2026-11-22T01:30:00.000120+00:00") == expected
    assert canonical_time("2026-11-22T01:30:00.000120Z") == expected
    assert canonical_time(datetime(2026, 11, 22, 1, 30, 0, 120)) == expected
    # A whole second keeps its six zeros, unlike datetime.isoformat().
    assert canonical_time(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000000Z"


def test_an_untouched_chain_is_intact():
    events = build_chain()
    report = verify_chain(ENVELOPE, events, sealed=(8, events[-1].hash))
    assert report.intact, report.findings
    assert report.count == 8 and report.head_seq == 8 and report.head_hash == events[-1].hash


def test_the_hash_binds_the_event_to_its_envelope():
    events = build_chain()
    report = verify_chain(str(uuid.UUID(int=43)), events)
    assert not report.intact
    assert {p for p, _ in problems(report)} == {"changed"}


def test_a_changed_event_is_named():
    events = build_chain()
    events[4] = dataclasses.replace(events[4], data={"n": 5, "名字": "李四"})
    report = verify_chain(ENVELOPE, events)
    assert problems(report) == [("changed", 5)]
    assert "第 5 条事件" in report.findings[0].message
    assert "#5 (signer.read)" in report.findings[0].message_en


def test_a_changed_time_or_actor_is_named():
    events = build_chain()
    events[1] = dataclasses.replace(events[1], at="2026-11-22T01:02:04.456790Z")
    events[6] = dataclasses.replace(events[6], actor="dealer")
    assert problems(verify_chain(ENVELOPE, events)) == [("changed", 2), ("changed", 7)]


def test_a_changed_event_with_a_recomputed_hash_is_named_by_the_next_link():
    events = build_chain()
    events[2] = rehash(dataclasses.replace(events[2], data={"forged": True}))
    assert problems(verify_chain(ENVELOPE, events)) == [("changed", 3)]


def test_a_deleted_event_is_named():
    events = build_chain()
    del events[3]
    assert problems(verify_chain(ENVELOPE, events)) == [("deleted", 4)]


def test_two_deleted_events_are_both_named():
    events = build_chain()
    del events[5]
    del events[1]
    assert problems(verify_chain(ENVELOPE, events)) == [("deleted", 2), ("deleted", 6)]


def test_reordered_events_are_named_with_their_original_positions():
    events = build_chain()
    a, b = events[2], events[3]
    events[2] = dataclasses.replace(b, seq=3)
    events[3] = dataclasses.replace(a, seq=4)
    report = verify_chain(ENVELOPE, events)
    assert problems(report) == [("reordered", 3), ("reordered", 4)]
    assert "原为第 4 条" in report.findings[0].message


def test_a_deleted_last_event_is_caught_by_the_seal():
    events = build_chain()
    sealed = (8, events[-1].hash)
    assert verify_chain(ENVELOPE, events[:-1]).intact  # nothing inside the chain shows it
    report = verify_chain(ENVELOPE, events[:-1], sealed=sealed)
    assert problems(report) == [("truncated", 8)]


def test_a_rewritten_tail_is_caught_by_the_seal():
    events = build_chain()
    sealed = (8, events[-1].hash)
    events[6] = rehash(dataclasses.replace(events[6], data={"forged": True}))
    events[7] = rehash(dataclasses.replace(events[7], prev_hash=events[6].hash))
    report = verify_chain(ENVELOPE, events, sealed=sealed)
    assert ("rewritten", 8) in problems(report)


def test_a_duplicated_event_is_named():
    events = build_chain()
    events.insert(4, events[4])
    assert ("duplicated", 5) in problems(verify_chain(ENVELOPE, events))


def test_personal_numbers_are_masked_before_hashing():
    data = {
        "to": "13800138000",
        "note": "11010519491231002X",
        "card": "6222 0212 3456 7890 128",
        "message_id": "900619746936498440^0",
        "provider_request_id": "6222021234567890128",
        "nested": [{"phone": "+8613900139000"}],
        "masked": "138****8000",
    }
    masked = mask_personal_data(data)
    assert masked["to"] == "138****8000"
    assert masked["note"].startswith("1") and masked["note"].endswith("002X")
    assert "19491231" not in masked["note"]
    assert "3456" not in masked["card"]
    assert masked["message_id"] == data["message_id"]
    assert masked["provider_request_id"] == data["provider_request_id"]
    assert masked["nested"][0]["phone"] == "139****9000"
    assert masked["masked"] == "138****8000"
