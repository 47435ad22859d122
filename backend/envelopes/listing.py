"""The envelope list for the API: filtered by status, newest first, cursor-paginated."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
from piccolo.columns.combination import Combinable

from backend.database import utcnow
from backend.envelopes.tables import Envelope
from backend.errors import FieldProblem, validation_error
from backend.pagination import check_limit, next_cursor, older_than

STATUSES = ("draft", "sent", "completed", "expired", "declined", "voided")


class EnvelopeSummary(msgspec.Struct):
    id: str
    number: str
    template: str
    title: str
    status: str
    created_at: datetime
    expires_at: datetime
    completed_at: datetime | None
    url: str


class EnvelopePage(msgspec.Struct):
    items: list[EnvelopeSummary]
    next_cursor: str | None


async def list_envelopes(
    organisation_id: uuid.UUID, *, status: str | None, limit: int, cursor: str | None
) -> EnvelopePage:
    limit = check_limit(limit)
    now = utcnow()
    where: Combinable = Envelope.organisation == organisation_id
    if status is not None:
        if status not in STATUSES:
            raise validation_error(
                [
                    FieldProblem(
                        "status",
                        f"status 应为：{'、'.join(STATUSES)}。",
                        f"status must be one of: {', '.join(STATUSES)}.",
                    )
                ]
            )
        # "expired" is a sent envelope past its deadline (see services.effective_status).
        if status == "expired":
            overdue = (Envelope.status == "sent") & (Envelope.expires_at < now)
            where = where & ((Envelope.status == "expired") | overdue)
        elif status == "sent":
            where = where & (Envelope.status == "sent") & (Envelope.expires_at >= now)
        else:
            where = where & (Envelope.status == status)
    after = older_than(Envelope.created_at, Envelope.id, cursor)
    if after is not None:
        where = where & after
    rows = (
        await Envelope.select(
            Envelope.id,
            Envelope.number,
            Envelope.template,
            Envelope.title,
            Envelope.status,
            Envelope.created_at,
            Envelope.expires_at,
            Envelope.completed_at,
        )
        .where(where)
        .order_by(Envelope.created_at, Envelope.id, ascending=False)
        .limit(limit + 1)
    )
    items = [
        EnvelopeSummary(
            id=str(r["id"]),
            number=r["number"],
            template=r["template"],
            title=r["title"],
            status="expired" if r["status"] == "sent" and r["expires_at"] < now else r["status"],
            created_at=r["created_at"],
            expires_at=r["expires_at"],
            completed_at=r["completed_at"],
            url=f"/api/v1/envelopes/{r['id']}",
        )
        for r in rows[:limit]
    ]
    return EnvelopePage(items=items, next_cursor=next_cursor(rows, limit))
