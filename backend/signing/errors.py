"""Exceptions raised by the signing core; every one derives from :class:`SigningError`."""

from __future__ import annotations

__all__ = [
    "EncryptedPdf",
    "FieldAlreadySigned",
    "FieldNotFound",
    "IntentMismatch",
    "InvalidHandwriting",
    "InvalidPdf",
    "InvalidSeal",
    "MasterKeyError",
    "PdfTooLarge",
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


class EncryptedPdf(InvalidPdf):
    """The PDF is encrypted (password protected), so its signatures cannot be checked."""


class PdfTooLarge(InvalidPdf):
    """The PDF is larger than the configured limit."""


class InvalidSeal(SigningError):
    """A seal image cannot be decoded, or is not a usable transparent seal."""
