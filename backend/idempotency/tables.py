from piccolo.columns import UUID, Bytea, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class IdempotentRequest(Table, tablename="idempotent_request"):
    """A POST made with an Idempotency-Key, and the response it got (replayed for 24 h)."""

    id = UUID(primary_key=True)
    # sha256(organisation id + key): one row per key per organisation, enforced by the index.
    scope_hash = Varchar(length=64, unique=True)
    request_hash = Varchar(length=64)
    # None while the first request is still running.
    status_code = Integer(null=True, default=None)
    content_type = Text(default="")
    body = Bytea(null=True, default=None)
    created_at = Timestamptz(index=True)
