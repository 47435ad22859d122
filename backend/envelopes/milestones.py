"""Business milestones: a role's signature moves the envelope to a status people track.

On a waybill the carrier's signature means 运输中 (in transit) and the receiving
dealer's means 已签收 (received). The template declares them per role; they are
recorded with the signature, in the same transaction, as an ``envelope.milestone``
audit event (which the webhooks listener turns into a callback).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from backend import documents
from backend.envelopes.tables import Envelope, Signer
from backend.evidence import kinds
from backend.evidence.services import append_event


def history(raw: Any) -> list[dict[str, Any]]:
    """The stored milestone history as a list (JSON columns read back as text on SQLite)."""
    value = json.loads(raw) if isinstance(raw, str) else raw
    return list(value or [])


async def record(env: Envelope, signer: Signer, at: datetime) -> dict[str, Any] | None:
    """Set the milestone this signer's role reaches, if any (inside the signing transaction)."""
    template = documents.get_template(env.template)
    role = template.role(signer.role) if template else None
    if role is None or role.milestone is None:
        return None
    milestone = role.milestone
    entry = {
        "key": milestone.key,
        "label": milestone.label,
        "label_en": milestone.label_en,
        "role": signer.role,
        "signer": str(signer.id),
        "at": at.isoformat(),
    }
    row = await Envelope.select(Envelope.milestones).where(Envelope.id == env.id).first()
    past = history(row["milestones"] if row else None)
    await Envelope.update(
        {Envelope.milestone: milestone.key, Envelope.milestones: json.dumps([*past, entry])}
    ).where(Envelope.id == env.id)
    await append_event(
        env.id,
        kinds.ENVELOPE_MILESTONE,
        actor=signer.role,
        data={
            "milestone": milestone.key,
            "label": milestone.label,
            "signer": str(signer.id),
        },
    )
    return entry


def for_page(env: Envelope) -> list[dict[str, Any]]:
    """The history with times as datetimes, for the signer pages (``milestone_history``)."""
    return [
        {**entry, "at": datetime.fromisoformat(entry["at"])}
        for entry in history(getattr(env, "milestones", None))
    ]
