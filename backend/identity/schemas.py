"""API shapes of the manual-review queue (msgspec): these also make the OpenAPI schema."""

from __future__ import annotations

from datetime import datetime

import msgspec


class ReviewOut(msgspec.Struct):
    id: str
    envelope_id: str
    envelope_number: str
    envelope_title: str
    signer_role: str
    signer_role_en: str
    name: str
    id_type: str
    id_type_label: str
    #: Masked (110***********1234); the photos carry the full number for the reviewer.
    id_number: str
    status: str
    reason: str
    created_at: datetime
    decided_at: datetime | None
    front_url: str
    holding_url: str


class RejectIn(msgspec.Struct):
    reason: str
