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


class MemberIn(msgspec.Struct):
    name: str
    phone: str
    roles: list[str] = msgspec.field(default_factory=lambda: ["sender"])


class MemberOut(msgspec.Struct):
    id: str
    name: str
    phone: str
    roles: list[str]
    created_at: datetime
