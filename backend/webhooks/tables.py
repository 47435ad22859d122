from piccolo.columns import (
    JSON,
    UUID,
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from backend.orgs.tables import Organisation


class Endpoint(Table, tablename="webhook_endpoint"):
    """Where an organisation wants its events: a URL, the event types, a signing secret."""

    id = UUID(primary_key=True)
    organisation = ForeignKey(references=Organisation, index=True)
    url = Varchar(length=500)
    description = Varchar(length=200, default="")
    # Event types to send; an empty list means every type.
    events = JSON(default="[]")
    # The HMAC secret, sealed at rest (AES-GCM under the master key) — it must be readable.
    secret_sealed = Bytea()
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    # Deleted endpoints stay so their delivery log keeps its meaning.
    deleted_at = Timestamptz(null=True, default=None)


class Delivery(Table, tablename="webhook_delivery"):
    """One event sent to one URL: the exact body, each attempt's outcome. Replays add rows."""

    id = UUID(primary_key=True)
    organisation = ForeignKey(references=Organisation, index=True)
    # None: the envelope's own callback_url (signed with the organisation's callback secret).
    endpoint = ForeignKey(references=Endpoint, null=True, default=None, index=True)
    envelope_id = UUID(index=True)
    event_id = UUID(index=True)
    event_type = Varchar(length=40)
    url = Varchar(length=500)
    body = Text()
    # pending -> delivered | retrying -> ... -> delivered | failed
    status = Varchar(length=12, default="pending", index=True)
    attempts = Integer(default=0)
    last_status_code = Integer(null=True, default=None)
    last_error = Text(default="")
    replay_of = UUID(null=True, default=None)
    created_at = Timestamptz(index=True)
    last_attempt_at = Timestamptz(null=True, default=None)
    delivered_at = Timestamptz(null=True, default=None)
