"""Keys derived from the master key: sealing personal data at rest, link tokens, sessions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from backend.config import get_settings

_SEAL_VERSION = b"\x01"


@lru_cache(maxsize=8)
def derived_key(purpose: str) -> bytes:
    master = get_settings().master_key_bytes()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        master
    )


PII_PURPOSE = "signlink/pii/v1"


def seal_bytes(data: bytes, purpose: str = PII_PURPOSE) -> bytes:
    """Encrypt personal data for storage: version || nonce || AES-GCM(key for `purpose`)."""
    nonce = os.urandom(12)
    return _SEAL_VERSION + nonce + AESGCM(derived_key(purpose)).encrypt(nonce, data, None)


def unseal_bytes(blob: bytes, purpose: str = PII_PURPOSE) -> bytes:
    if not blob or blob[:1] != _SEAL_VERSION:
        raise ValueError("unknown sealed-data version")
    return AESGCM(derived_key(purpose)).decrypt(blob[1:13], blob[13:], None)


def seal(plaintext: str) -> bytes:
    """Encrypt a personal-data string (phone, ID number) for storage."""
    return seal_bytes(plaintext.encode())


def unseal(blob: bytes) -> str:
    return unseal_bytes(blob).decode()


def keyed_token(purpose: str, message: str, length: int = 16) -> str:
    """A URL-safe token that only the server can compute (HMAC of the message)."""
    digest = hmac.new(derived_key(purpose), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:length]


def sha256_hex(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "****"
