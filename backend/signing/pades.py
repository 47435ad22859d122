"""Apply one signer's PAdES signature to an existing, empty signature field.

Signatures are PAdES B-T: the CMS signature carries an RFC 3161 signature timestamp token,
by default from the CA's own time-stamping authority (asked in-process). The timestamp
proves when the signature existed, so it stays verifiable long after the signer's one-day
event certificate has expired.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from dataclasses import dataclass
from typing import Literal, TypeAlias

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from backend.signing.appearance import (
    CAPTION_PARAM,
    caption_text,
    handwriting_image,
    signature_stamp_style,
)
from backend.signing.ca import CertificateAuthority, EventCertificate
from backend.signing.errors import (
    FieldAlreadySigned,
    FieldNotFound,
    IntentMismatch,
    InvalidPdf,
    SigningError,
)
from backend.signing.intent import SigningIntent

__all__ = ["SignedRevision", "TimeStamperChoice", "async_sign_intent", "sign_intent"]

TimeStamperChoice: TypeAlias = TimeStamper | Literal[False] | None
"""``None``: the CA's own TSA (the default); a :class:`TimeStamper`, e.g. pyHanko's
``HTTPTimeStamper(url)`` for an external TSA; ``False``: no timestamp at all (PAdES B-B,
which stops validating once the event certificate expires; for tests and tooling only)."""


@dataclass(frozen=True)
class SignedRevision:
    """The PDF after one more signature, appended as an incremental update."""

    pdf: bytes
    sha256: str
    certificate_serial: str
    field_name: str


def sign_intent(
    pdf: bytes,
    intent: SigningIntent,
    ca: CertificateAuthority,
    *,
    timestamper: TimeStamperChoice = None,
) -> SignedRevision:
    """Sign ``intent.field_name`` of ``pdf`` for the signer named in ``intent``.

    Blocking (crypto, font subsetting); from async code use :func:`async_sign_intent`.
    Earlier signatures stay intact: the signature is an approval signature added as an
    incremental update, so later signers can still fill their own fields.

    ``timestamper`` picks the signature timestamp (see :data:`TimeStamperChoice`): by
    default ``ca.tsa`` stamps it in-process; pass an ``HTTPTimeStamper`` to use an external
    TSA (whose root validators must then trust), or ``False`` to sign without a timestamp.
    """
    if hashlib.sha256(pdf).hexdigest() != intent.document_sha256.strip().lower():
        raise IntentMismatch(
            f"envelope {intent.envelope_id}: the PDF is not the revision signer "
            f"{intent.signer_id} saw (SHA-256 differs)"
        )
    handwriting = handwriting_image(intent.handwriting_png)
    writer = _open(pdf)
    box_height = _empty_field_height(writer, intent.field_name)

    event = ca.issue_event_certificate(intent)
    pdf_signer = signers.PdfSigner(
        signers.PdfSignatureMetadata(
            field_name=intent.field_name,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            name=intent.signer_name,
            reason=intent.reason or None,
            location=intent.location or None,
            certify=False,
        ),
        signer=_pyhanko_signer(event),
        timestamper=_resolve_timestamper(timestamper, ca),
        stamp_style=signature_stamp_style(handwriting, box_height),
    )
    output = io.BytesIO()
    try:
        pdf_signer.sign_pdf(
            writer,
            existing_fields_only=True,
            appearance_text_params={
                CAPTION_PARAM: caption_text(intent.signer_name, intent.signed_at)
            },
            output=output,
        )
    except (PdfError, ValueError, OSError) as exc:  # pyHanko's and the TSA client's errors
        raise SigningError(f"could not sign field {intent.field_name!r}: {exc}") from exc
    signed = output.getvalue()
    return SignedRevision(
        pdf=signed,
        sha256=hashlib.sha256(signed).hexdigest(),
        certificate_serial=event.serial_hex,
        field_name=intent.field_name,
    )


async def async_sign_intent(
    pdf: bytes,
    intent: SigningIntent,
    ca: CertificateAuthority,
    *,
    timestamper: TimeStamperChoice = None,
) -> SignedRevision:
    """:func:`sign_intent` in a worker thread, so the event loop keeps serving requests."""
    return await asyncio.to_thread(sign_intent, pdf, intent, ca, timestamper=timestamper)


def _resolve_timestamper(choice: TimeStamperChoice, ca: CertificateAuthority) -> TimeStamper | None:
    if choice is None:
        return ca.tsa.timestamper()
    if choice is False:
        return None
    return choice


def _open(pdf: bytes) -> IncrementalPdfFileWriter:
    try:
        return IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise InvalidPdf("the document is not a readable PDF") from exc


def _empty_field_height(writer: IncrementalPdfFileWriter, field_name: str) -> float:
    """Height of the field's widget; raises if the field is missing or already filled."""
    found = list(fields.enumerate_sig_fields(writer, with_name=field_name))
    if not found:
        raise FieldNotFound(f"the PDF has no signature field named {field_name!r}")
    _, value, field_ref = found[0]
    if value is not None:
        raise FieldAlreadySigned(f"signature field {field_name!r} is already signed")
    field = field_ref.get_object()
    widget = field if "/Rect" in field else field["/Kids"][0].get_object()
    x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
    height = abs(y2 - y1)
    if height == 0 or abs(x2 - x1) == 0:
        raise FieldNotFound(f"signature field {field_name!r} is invisible (empty rectangle)")
    return height


def _pyhanko_signer(event: EventCertificate) -> signers.SimpleSigner:
    def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))

    key_der = event.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return signers.SimpleSigner(
        signing_cert=to_asn1(event.certificate),
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs([to_asn1(c) for c in event.chain]),
    )
