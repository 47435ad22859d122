"""API input and output shapes (msgspec): these also make the OpenAPI schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class SignerIn(msgspec.Struct, forbid_unknown_fields=False):
    role: str
    name: str
    phone: str = ""  # required unless ``stamp``
    order: int | None = None
    identity: str = "none"
    intent: str = "sms"
    # An internal stamping step: a member of the sending organisation with the stamper
    # role applies the organisation's seal (no SMS link; ``name`` is the organisation).
    stamp: bool = False


class CreateEnvelope(msgspec.Struct):
    template: str
    data: dict[str, Any]
    signers: list[SignerIn]
    callback_url: str | None = None


class SignerOut(msgspec.Struct):
    id: str
    role: str
    role_label: str
    name: str
    phone: str
    order: int
    identity: str
    identity_verified: bool
    intent: str
    status: str
    notified_at: datetime | None
    viewed_at: datetime | None
    signed_at: datetime | None
    declined_at: datetime | None = None
    decline_reason: str | None = None
    reminded_at: datetime | None = None
    milestone: str | None = None  # what this role's signature sets (waybill: in_transit)


class MilestoneOut(msgspec.Struct):
    key: str
    label: str
    label_en: str
    role: str
    at: datetime


class EnvelopeOut(msgspec.Struct):
    id: str
    number: str
    template: str
    template_version: int
    title: str
    status: str
    document_sha256: str
    created_at: datetime
    expires_at: datetime
    completed_at: datetime | None
    signers: list[SignerOut]
    pdf_url: str
    milestone: str | None = None
    milestones: list[MilestoneOut] = msgspec.field(default_factory=list)
    # The decline or void reason, once the envelope ended that way.
    status_reason: str | None = None
    batch_id: str | None = None


class ReasonIn(msgspec.Struct):
    reason: str


class RemindOut(msgspec.Struct):
    signer_id: str
    queued_at: datetime


class TemplateOut(msgspec.Struct):
    key: str
    version: int
    title: str
    title_en: str
    roles: list[dict[str, Any]]
    fields: list[dict[str, Any]]
    description: str = ""
    preview_url: str = ""
