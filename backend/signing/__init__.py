"""The signing core: SignLink's CA and TSA, PAdES B-T signing of a signer's intent, validation.

A plain library (no web or ORM imports), so it can run in a worker process or another
service unchanged. Blocking functions have ``async_`` twins that run in a worker thread.
"""

from backend.signing.ca import CertificateAuthority, EventCertificate
from backend.signing.errors import (
    FieldAlreadySigned,
    FieldNotFound,
    IntentMismatch,
    InvalidHandwriting,
    InvalidPdf,
    MasterKeyError,
    SigningError,
)
from backend.signing.intent import SigningIntent
from backend.signing.pades import (
    SignedRevision,
    TimeStamperChoice,
    async_sign_intent,
    sign_intent,
)
from backend.signing.tsa import (
    TIMESTAMP_QUERY_CONTENT_TYPE,
    TIMESTAMP_REPLY_CONTENT_TYPE,
    TSA_POLICY_OID,
    LocalTimeStamper,
    TimeStampAuthority,
)
from backend.signing.validation import (
    SignatureReport,
    ValidationReport,
    async_validate_pdf,
    validate_pdf,
)

__all__ = [
    "TIMESTAMP_QUERY_CONTENT_TYPE",
    "TIMESTAMP_REPLY_CONTENT_TYPE",
    "TSA_POLICY_OID",
    "CertificateAuthority",
    "EventCertificate",
    "FieldAlreadySigned",
    "FieldNotFound",
    "IntentMismatch",
    "InvalidHandwriting",
    "InvalidPdf",
    "LocalTimeStamper",
    "MasterKeyError",
    "SignatureReport",
    "SignedRevision",
    "SigningError",
    "SigningIntent",
    "TimeStampAuthority",
    "TimeStamperChoice",
    "ValidationReport",
    "async_sign_intent",
    "async_validate_pdf",
    "sign_intent",
    "validate_pdf",
]
