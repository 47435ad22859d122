"""When one drawing may sign more than one field: the same intent session, drawn after it.

A signer with several fields (a contract with initials on each page, or a batch of dealer
agreements) draws once and confirms each field. The drawing may be reused only while the
intent check that preceded it is still the one in force:

- it was drawn (submitted) after the intent check, within the same intent session
  (compared by the session's hash, never the secret);
- the session is still fresh (``max_age`` since the intent check);
- every field's audit event records the same ``handwriting_strokes_sha256`` and says it is
  a reuse, so the evidence shows one drawing applied to N fields under one confirmation.

The service keeps a :class:`DrawnSignature` next to the stored PNG and asks
:func:`may_reuse` before applying it to another field; a new intent check (new session)
means a new drawing.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class DrawnSignature:
    strokes_sha256: str
    drawn_at: datetime
    intent_session_hash: str
    """Hash of the intent session in force when the drawing was submitted."""


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
