"""Webhook API input and output shapes (msgspec): these also make the OpenAPI schema."""

from __future__ import annotations

from datetime import datetime

import msgspec


class EndpointIn(msgspec.Struct):
    url: str
    events: list[str] = msgspec.field(default_factory=list)
    description: str = ""


class EndpointPatch(msgspec.Struct):
    url: str | None = None
    events: list[str] | None = None
    description: str | None = None
    active: bool | None = None


class EndpointOut(msgspec.Struct):
    id: str
    url: str
    events: list[str]
    description: str
    active: bool
    created_at: datetime
    updated_at: datetime


class EndpointSecretOut(msgspec.Struct):
    """The endpoint with its signing secret: returned on creation and on rotation only."""

    id: str
    url: str
    events: list[str]
    description: str
    active: bool
    created_at: datetime
    updated_at: datetime
    secret: str


class CallbackSecretOut(msgspec.Struct):
    secret: str


class DeliveryOut(msgspec.Struct):
    id: str
    endpoint_id: str | None
    envelope_id: str
    event_id: str
    event_type: str
    url: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str
    replay_of: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None


class DeliveryPage(msgspec.Struct):
    items: list[DeliveryOut]
    next_cursor: str | None
