from piccolo.columns import (
    JSON,
    UUID,
    Bytea,
    ForeignKey,
    Integer,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from backend.orgs.tables import Organisation


class Envelope(Table, tablename="envelope"):
    """One agreement sent for signature: its document revisions, signers and status."""

    id = UUID(primary_key=True)
    organisation = ForeignKey(references=Organisation)
    number = Varchar(length=32, unique=True)
    template = Varchar(length=64)
    template_version = Integer(default=1)
    title = Varchar(length=200)
    # draft (rendering) -> sent -> completed | declined | voided | expired
    status = Varchar(length=16, default="draft", index=True)
    # Why it ended early: the decline or void reason.
    status_reason = Varchar(length=200, null=True, default=None)
    ended_at = Timestamptz(null=True, default=None)
    # The latest business milestone (waybill: in_transit, received) and the history:
    # [{"key", "label", "label_en", "role", "signer", "at"}, ...]
    milestone = Varchar(length=32, null=True, default=None)
    milestones = JSON(default="[]")
    # Set when the envelope came from a batch (CSV upload or batch API call).
    batch = UUID(null=True, default=None, index=True)
    # Template data holds personal data (phones, ID numbers): sealed at rest.
    data_sealed = Bytea()
    current_sha256 = Varchar(length=64, default="")
    callback_url = Varchar(length=500, null=True, default=None)
    expires_at = Timestamptz()
    created_at = Timestamptz()
    updated_at = Timestamptz()
    completed_at = Timestamptz(null=True, default=None)


class DocumentRevision(Table, tablename="document_revision"):
    """Every PDF revision of an envelope in order: the rendered original, then one per signature."""

    id = UUID(primary_key=True)
    envelope = ForeignKey(references=Envelope, index=True)
    seq = Integer()
    # The PDF's content hash: its bytes are a blob (backend.storage).
    sha256 = Varchar(length=64, index=True)
    page_count = Integer()
    reason = Varchar(length=64)
    created_at = Timestamptz()


class Signer(Table, tablename="signer"):
    id = UUID(primary_key=True)
    envelope = ForeignKey(references=Envelope, index=True)
    role = Varchar(length=32)
    role_label = Varchar(length=32)
    name = Varchar(length=100)
    phone_sealed = Bytea()
    phone_masked = Varchar(length=16)
    routing_order = Integer()
    field_name = Varchar(length=64)
    # What this signer must prove before signing: none | phone3 | bank4 | face
    identity_level = Varchar(length=16, default="none")
    # How the signer confirms intent at signing time: sms | face
    intent_method = Varchar(length=16, default="sms")
    identity_verified_at = Timestamptz(null=True, default=None)
    identity_method = Varchar(length=16, null=True, default=None)
    # waiting -> notified -> viewed -> signed
    status = Varchar(length=16, default="waiting")
    link_nonce = Varchar(length=32)
    token_hash = Varchar(length=64, unique=True, index=True)
    notified_at = Timestamptz(null=True, default=None)
    viewed_at = Timestamptz(null=True, default=None)
    read_at = Timestamptz(null=True, default=None)
    intent_verified_at = Timestamptz(null=True, default=None)
    session_hash = Varchar(length=64, null=True, default=None)
    handwriting_png = Bytea(null=True, default=None)
    signed_at = Timestamptz(null=True, default=None)
    certificate_serial = Varchar(length=64, null=True, default=None)
    declined_at = Timestamptz(null=True, default=None)
    decline_reason = Varchar(length=200, null=True, default=None)
    # Last reminder (automatic or by the sender): manual resends wait out a cooldown.
    reminded_at = Timestamptz(null=True, default=None)


class PageImage(Table, tablename="page_image"):
    """Rendered page images, cached per document hash (content-addressed)."""

    id = UUID(primary_key=True)
    sha256 = Varchar(length=64, index=True)
    page = Integer()
    width = Integer()
    # The image's own content hash: its bytes are a blob (backend.storage).
    image_sha256 = Varchar(length=64, default="")
    content_type = Varchar(length=32)


class Batch(Table, tablename="batch"):
    """Many envelopes from one CSV upload or one API call; rows that failed are kept here."""

    id = UUID(primary_key=True)
    organisation = ForeignKey(references=Organisation, index=True)
    template = Varchar(length=64)
    source = Varchar(length=8)  # api | csv
    total = Integer()
    accepted = Integer()
    # [{"row": 3, "errors": [{"field", "message", "message_en"}]}, ...]
    errors = JSON(default="[]")
    created_at = Timestamptz()
