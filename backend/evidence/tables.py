from piccolo.columns import JSON, UUID, Bytea, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from backend.envelopes.tables import Envelope


class AuditEvent(Table, tablename="audit_event"):
    """Append-only, hash-chained record of what happened to an envelope.

    ``(envelope, seq)`` is unique (an index made by the evidence migration), so two
    writers can never fork a chain.
    """

    id = UUID(primary_key=True)
    envelope = ForeignKey(references=Envelope, index=True)
    seq = Integer()
    kind = Varchar(length=40)
    at = Timestamptz()
    actor = Varchar(length=100, default="")
    data = JSON(default="{}")
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64)


class EnvelopeSeal(Table, tablename="evidence_seal"):
    """The envelope's chain head at completion, timestamped by the TSA (RFC 3161 token)."""

    id = UUID(primary_key=True)
    envelope = ForeignKey(references=Envelope, unique=True, index=True)
    seq = Integer()
    hash = Varchar(length=64)
    token = Bytea()
    gen_time = Timestamptz()
    tsa_serial = Varchar(length=64, default="")
    created_at = Timestamptz()


class DailyAnchor(Table, tablename="evidence_anchor"):
    """One day's Merkle tree over every envelope's chain head of that day (China time)."""

    id = UUID(primary_key=True)
    day = Varchar(length=10, unique=True, index=True)
    root = Varchar(length=64)
    size = Integer()
    token = Bytea()
    gen_time = Timestamptz()
    created_at = Timestamptz()


class AnchorLeaf(Table, tablename="evidence_anchor_leaf"):
    """Leaf ``position`` of a day's tree: an envelope's last event of that day."""

    id = UUID(primary_key=True)
    anchor = ForeignKey(references=DailyAnchor, index=True)
    position = Integer()
    envelope = ForeignKey(references=Envelope, index=True)
    seq = Integer()
    hash = Varchar(length=64)


class AnchorDeposit(Table, tablename="evidence_deposit"):
    """A day's root handed to an external notary or judicial-blockchain connector."""

    id = UUID(primary_key=True)
    anchor = ForeignKey(references=DailyAnchor, index=True)
    connector = Varchar(length=40)
    status = Varchar(length=12)  # deposited | failed
    reference = Varchar(length=500, default="")
    receipt = JSON(default="{}")
    error = Text(default="")
    created_at = Timestamptz()
