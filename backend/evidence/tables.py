from piccolo.columns import JSON, UUID, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.table import Table

from backend.envelopes.tables import Envelope


class AuditEvent(Table, tablename="audit_event"):
    """Append-only, hash-chained record of what happened to an envelope."""

    id = UUID(primary_key=True)
    envelope = ForeignKey(references=Envelope, index=True)
    seq = Integer()
    kind = Varchar(length=40)
    at = Timestamptz()
    actor = Varchar(length=100, default="")
    data = JSON(default="{}")
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)
