"""When one drawing may sign more than one field: the same intent session, drawn after it.

A signer with several fields (a contract with a handover page or initials on each page, or
a batch of waybills or dealer agreements) draws once and confirms once. The drawing may be
applied to each field only while the intent check that preceded it is still the one in
force:

- it was drawn (submitted) after the intent check, within the same intent session
  (compared by the session's hash, never the secret);
- the session is still fresh (``max_age`` since the intent check);
- every field's audit event records the same ``handwriting_strokes_sha256`` and the
  session's :func:`session_reference`, so the evidence shows one drawing applied to N
  fields under one confirmation.

The server binds the drawing to its session when it renders it (:func:`binding`, carried in
the PNG's evidence next to the stroke hash) and asks :func:`may_reuse` before every field it
signs with it; a new intent check (a new session) means a new drawing.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

SESSION_KEY = "intent_session_sha256"
DRAWN_AT_KEY = "drawn_at"


@dataclass(frozen=True, slots=True)
class DrawnSignature:
    strokes_sha256: str
    drawn_at: datetime
    intent_session_hash: str
    """Hash of the intent session in force when the drawing was submitted."""

    @classmethod
    def from_evidence(cls, evidence: Mapping[str, object] | None) -> DrawnSignature | None:
        """The binding :func:`binding` stored with a drawing, or None (unbound or malformed)."""
        if not evidence:
            return None
        strokes, drawn_at, session = (
            evidence.get("strokes_sha256"),
            evidence.get(DRAWN_AT_KEY),
            evidence.get(SESSION_KEY),
        )
        if not (
            isinstance(strokes, str) and isinstance(drawn_at, str) and isinstance(session, str)
        ):
            return None
        try:
            when = datetime.fromisoformat(drawn_at)
        except ValueError:
            return None
        if when.tzinfo is None:
            return None
        return cls(strokes, when, session)


def binding(intent_session_hash: str, drawn_at: datetime) -> dict[str, str]:
    """Evidence entries that tie a drawing to the intent session it was drawn in."""
    if drawn_at.tzinfo is None:
        raise ValueError("drawn_at must be timezone-aware")
    return {SESSION_KEY: intent_session_hash, DRAWN_AT_KEY: drawn_at.isoformat()}


def session_reference(intent_session_hash: str) -> str:
    """A label for the audit trail that ties the events of one session together.

    Derived from the session's hash (itself a hash of the secret), so the trail never holds
    anything a client could present as the session."""
    return hashlib.sha256(
        b"signlink/intent-session/v1:" + intent_session_hash.encode()
    ).hexdigest()[:24]


def may_reuse(
    drawn: DrawnSignature,
    *,
    intent_session_hash: str | None,
    intent_verified_at: datetime | None,
    now: datetime,
    max_age: timedelta,
) -> bool:
    """True when ``drawn`` may be applied to one more field of the same signing session."""
    if not intent_session_hash or intent_verified_at is None:
        return False
    if not hmac.compare_digest(drawn.intent_session_hash, intent_session_hash):
        return False
    return intent_verified_at <= drawn.drawn_at <= now and now - intent_verified_at < max_age
