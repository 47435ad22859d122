"""API key input and output shapes (msgspec)."""

from __future__ import annotations

from datetime import datetime

import msgspec


class ApiKeyIn(msgspec.Struct):
    label: str = ""


class ApiKeyOut(msgspec.Struct):
    id: str
    label: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(msgspec.Struct):
    """The new key in clear: shown once, store it now."""

    id: str
    label: str
    prefix: str
    created_at: datetime
    key: str
