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


SIGNATURE_BYTES = 12 * 1024
"""Room reserved for the CMS signature (chain ~1.5 KB, timestamp token ~2 KB, plus an
external TSA's longer chain). Fixed, so pyHanko skips its dry-run signature and timestamp
that would otherwise measure it on every signing."""


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

    Blocking (crypto); from async code use :func:`async_sign_intent`.
    The first signature of a document certifies it (DocMDP P=2: later form filling and
    signing allowed); every later one is an approval signature added as an incremental
    update, so earlier signatures stay intact and later signers can fill their fields.

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
    box = _empty_field_box(writer, intent.field_name)
    certify = is_unsigned(writer)

    event = ca.issue_event_certificate(intent)
    pdf_signer = signers.PdfSigner(
        signers.PdfSignatureMetadata(
            field_name=intent.field_name,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            name=intent.signer_name,
            reason=intent.reason or None,
            location=intent.location or None,
            certify=certify,
            docmdp_permissions=fields.MDPPerm.FILL_FORMS,
        ),
        signer=_pyhanko_signer(event),
        timestamper=_resolve_timestamper(timestamper, ca),
        stamp_style=signature_stamp_style(
            handwriting, caption_text(intent.signer_name, intent.signed_at), box
        ),
    )
    output = io.BytesIO()
    try:
        pdf_signer.sign_pdf(
            writer, existing_fields_only=True, bytes_reserved=SIGNATURE_BYTES, output=output
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


def is_unsigned(writer: IncrementalPdfFileWriter) -> bool:
    """No field of the document holds a signature yet (the next one certifies it)."""
    return all(value is None for _, value, _ in fields.enumerate_sig_fields(writer))


def _empty_field_box(writer: IncrementalPdfFileWriter, field_name: str) -> tuple[float, float]:
    """(width, height) of the field's widget; raises if it is missing or already filled."""
    found = list(fields.enumerate_sig_fields(writer, with_name=field_name))
    if not found:
        raise FieldNotFound(f"the PDF has no signature field named {field_name!r}")
    _, value, field_ref = found[0]
    if value is not None:
        raise FieldAlreadySigned(f"signature field {field_name!r} is already signed")
    field = field_ref.get_object()
    widget = field if "/Rect" in field else field["/Kids"][0].get_object()
    x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
    width, height = abs(x2 - x1), abs(y2 - y1)
    if height == 0 or width == 0:
        raise FieldNotFound(f"signature field {field_name!r} is invisible (empty rectangle)")
    return width, height


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
