"""The signing intent: everything the web layer established before a signature is applied."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["SigningIntent"]


@dataclass(frozen=True)
class SigningIntent:
    """Who signs which field of which exact document revision, verified how, and when."""

    envelope_id: str
    signer_id: str
    signer_name: str
    signer_role: str
    field_name: str
    document_sha256: str
    """Hex SHA-256 of the exact PDF revision the signer saw; signing refuses any other PDF."""
    handwriting_png: bytes
    verified_by: str
    signed_at: datetime
    device: str = ""
    reason: str = "签署"
    location: str = ""

    def __post_init__(self) -> None:
        if self.signed_at.tzinfo is None or self.signed_at.utcoffset() is None:
            raise ValueError("SigningIntent.signed_at must be timezone-aware")
        if not self.signer_name.strip():
            raise ValueError("SigningIntent.signer_name must not be empty")
        if not self.field_name:
            raise ValueError("SigningIntent.field_name must not be empty")
