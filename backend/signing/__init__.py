"""The signing core: SignLink's CA, TSA, OCSP/CRL, PAdES signing of a signer's intent and of
company seals, long-term validation (B-LT/B-LTA), validation and verification reports.

A plain library (no web or ORM imports), so it can run in a worker process or another
service unchanged. Blocking functions have ``async_`` twins that run in a worker thread.
"""

from backend.signing.ca import (
    KEY_ALGORITHMS,
    CertificateAuthority,
    EventCertificate,
    KeyAlgorithm,
    PkiUrls,
)
from backend.signing.errors import (
    EncryptedPdf,
    FieldAlreadySigned,
    FieldNotFound,
    IntentMismatch,
    InvalidHandwriting,
    InvalidPdf,
    InvalidSeal,
    MasterKeyError,
    PdfTooLarge,
    SigningError,
)
from backend.signing.form_fields import SignatureField, signature_fields
from backend.signing.intent import SigningIntent
from backend.signing.long_term import async_make_long_term, make_long_term
from backend.signing.pades import (
    SignedRevision,
    TimeStamperChoice,
    async_sign_intent,
    sign_intent,
)
from backend.signing.revocation import OCSP_REQUEST_CONTENT_TYPE, OCSP_RESPONSE_CONTENT_TYPE
from backend.signing.seal import DEFAULT_PURPOSE, generate_round_seal, seal_image
from backend.signing.sealing import reserve_cross_page_seal, sign_seal
from backend.signing.tsa import (
    TIMESTAMP_QUERY_CONTENT_TYPE,
    TIMESTAMP_REPLY_CONTENT_TYPE,
    TSA_POLICY_OID,
    LocalTimeStamper,
    TimeStampAuthority,
)
from backend.signing.validation import (
    LTV_LEVELS,
    LtvLevel,
    SignatureReport,
    ValidationReport,
    async_validate_pdf,
    validate_pdf,
)
from backend.signing.verification import (
    DEFAULT_MAX_VERIFY_BYTES,
    SignatureVerdict,
    VerifyReport,
    async_verify_document,
    verify_document,
)

__all__ = [
    "DEFAULT_MAX_VERIFY_BYTES",
    "DEFAULT_PURPOSE",
    "KEY_ALGORITHMS",
    "LTV_LEVELS",
    "OCSP_REQUEST_CONTENT_TYPE",
    "OCSP_RESPONSE_CONTENT_TYPE",
    "TIMESTAMP_QUERY_CONTENT_TYPE",
    "TIMESTAMP_REPLY_CONTENT_TYPE",
    "TSA_POLICY_OID",
    "CertificateAuthority",
    "EncryptedPdf",
    "EventCertificate",
    "FieldAlreadySigned",
    "FieldNotFound",
    "IntentMismatch",
    "InvalidHandwriting",
    "InvalidPdf",
    "InvalidSeal",
    "KeyAlgorithm",
    "LocalTimeStamper",
    "LtvLevel",
    "MasterKeyError",
    "PdfTooLarge",
    "PkiUrls",
    "SignatureField",
    "SignatureReport",
    "SignatureVerdict",
    "SignedRevision",
    "SigningError",
    "SigningIntent",
    "TimeStampAuthority",
    "TimeStamperChoice",
    "ValidationReport",
    "VerifyReport",
    "async_make_long_term",
    "async_sign_intent",
    "async_validate_pdf",
    "async_verify_document",
    "generate_round_seal",
    "make_long_term",
    "reserve_cross_page_seal",
    "seal_image",
    "sign_intent",
    "sign_seal",
    "signature_fields",
    "validate_pdf",
    "verify_document",
]
