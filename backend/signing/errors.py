"""Exceptions raised by the signing core; every one derives from :class:`SigningError`."""

from __future__ import annotations

__all__ = [
    "FieldAlreadySigned",
    "FieldNotFound",
    "IntentMismatch",
    "InvalidHandwriting",
    "InvalidPdf",
    "MasterKeyError",
    "SigningError",
]


class SigningError(Exception):
    """Base class: the signing core refused or failed to do what was asked."""


class IntentMismatch(SigningError):
    """The PDF handed in is not the revision the signer saw (its SHA-256 differs)."""


class FieldNotFound(SigningError):
    """The PDF has no signature field with the requested name."""


class FieldAlreadySigned(SigningError):
    """The requested signature field already holds a signature."""


class MasterKeyError(SigningError):
    """The CA private keys cannot be decrypted with the master key given."""


class InvalidPdf(SigningError):
    """The bytes handed in are not a PDF that can be read."""


class InvalidHandwriting(SigningError):
    """The handwriting image cannot be decoded or holds no visible stroke."""
