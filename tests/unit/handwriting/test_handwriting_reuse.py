"""One drawing for several fields: only within the intent session it was drawn in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ml import handwriting
from ml.handwriting import DrawnSignature, binding, may_reuse, session_reference
from tests.unit.handwriting.handwriting_data import as_json, write_name

VERIFIED = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
SESSION = "a" * 64
TTL = timedelta(minutes=15)


def _drawn(
    at: datetime = VERIFIED + timedelta(seconds=30), session: str = SESSION
) -> DrawnSignature:
    return DrawnSignature("s" * 64, at, session)


def _ok(drawn: DrawnSignature, **changes: object) -> bool:
    args: dict[str, object] = {
        "intent_session_hash": SESSION,
        "intent_verified_at": VERIFIED,
        "now": VERIFIED + timedelta(minutes=1),
        "max_age": TTL,
    }
    args.update(changes)
    return may_reuse(drawn, **args)  # type: ignore[arg-type]


def test_a_drawing_serves_every_field_of_its_own_fresh_session() -> None:
    assert _ok(_drawn())


@pytest.mark.parametrize(
    ("drawn", "changes"),
    [
        (_drawn(session="b" * 64), {}),  # drawn under another confirmation
        (_drawn(at=VERIFIED - timedelta(seconds=1)), {}),  # drawn before the confirmation
        (_drawn(), {"intent_session_hash": None}),  # no session in force
        (_drawn(), {"intent_verified_at": None}),
        (_drawn(), {"now": VERIFIED + TTL}),  # the session expired
        (_drawn(at=VERIFIED + timedelta(minutes=5)), {"now": VERIFIED + timedelta(minutes=4)}),
    ],
)
def test_anything_else_is_refused(drawn: DrawnSignature, changes: dict[str, object]) -> None:
    assert not _ok(drawn, **changes)


def test_the_binding_travels_in_the_rendered_png() -> None:
    drawn_at = VERIFIED + timedelta(seconds=10)
    prepared = handwriting.prepare_signature(
        as_json(write_name("张三")), "张三", bound=binding(SESSION, drawn_at)
    )
    found = DrawnSignature.from_evidence(handwriting.read_evidence(prepared.png))
    assert found == DrawnSignature(prepared.strokes_sha256, drawn_at, SESSION)
    assert _ok(found)
    # A PNG rendered without a session (or a foreign one) never signs a further field.
    plain = handwriting.prepare_signature(as_json(write_name("张三")), "张三")
    assert DrawnSignature.from_evidence(handwriting.read_evidence(plain.png)) is None


@pytest.mark.parametrize(
    "evidence",
    [
        None,
        {},
        {"strokes_sha256": "s", "drawn_at": "yesterday", "intent_session_sha256": SESSION},
        {
            "strokes_sha256": "s",
            "drawn_at": "2026-11-22T08:00:00",
            "intent_session_sha256": SESSION,
        },
        {"strokes_sha256": 1, "drawn_at": VERIFIED.isoformat(), "intent_session_sha256": SESSION},
    ],
)
def test_malformed_or_naive_bindings_are_ignored(evidence: dict[str, object] | None) -> None:
    assert DrawnSignature.from_evidence(evidence) is None


def test_the_audit_reference_is_stable_and_not_the_session_hash() -> None:
    assert session_reference(SESSION) == session_reference(SESSION)
    assert session_reference(SESSION) != session_reference("b" * 64)
    assert SESSION not in session_reference(SESSION)
    with pytest.raises(ValueError):
        binding(SESSION, datetime(2026, 11, 22, 8, 0))  # naive time
