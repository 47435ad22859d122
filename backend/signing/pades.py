"""Apply one signer's PAdES signature to an existing, empty signature field.

Signatures are PAdES B-T: the CMS signature carries an RFC 3161 signature timestamp token,
by default from the CA's own time-stamping authority (asked in-process). The timestamp
proves when the signature existed, so it stays verifiable long after the signer's one-day
event certificate has expired.

:func:`sign_field` is the one signing path (signers, company seals and their cross-page
slices, the platform's evidence report): pyHanko's ``PdfCMSEmbedder`` writes the
incremental update, the CMS and the token are written as DER (:mod:`backend.signing.der`).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields
from pyhanko.sign.signers import constants
from pyhanko.sign.signers.cms_embedder import (
    PdfCMSEmbedder,
    SigAppearanceSetup,
    SigIOSetup,
    SigMDPSetup,
    SigObjSetup,
)
from pyhanko.sign.signers.pdf_byterange import SignatureObject
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.stamp import BaseStampStyle

from backend.signing import der
from backend.signing.appearance import (
    caption_text,
    handwriting_image,
    signature_stamp_style,
)
from backend.signing.ca import CertificateAuthority
from backend.signing.errors import (
    FieldAlreadySigned,
    FieldNotFound,
    IntentMismatch,
    InvalidPdf,
    SigningError,
)
from backend.signing.intent import SigningIntent
from backend.signing.tsa import LocalTimeStamper

__all__ = [
    "SignedRevision",
    "SigningKey",
    "TimeStamperChoice",
    "async_sign_intent",
    "resolve_timestamper",
    "sign_field",
    "sign_intent",
]

TimeStamperChoice: TypeAlias = TimeStamper | Literal[False] | None
"""``None``: the CA's own TSA (the default); a :class:`TimeStamper`, e.g. pyHanko's
``HTTPTimeStamper(url)`` for an external TSA; ``False``: no timestamp at all (PAdES B-B,
which stops validating once the event certificate expires; for tests and tooling only)."""


SIGNATURE_BYTES = 12 * 1024
"""Room reserved for the CMS signature, as hex (chain ~1.5 KB, timestamp token ~2 KB,
plus an external TSA's longer chain). Fixed, so no dry run is needed to measure it."""


class SigningKey(Protocol):
    """A certificate with its private key and chain: event, organisation or platform."""

    @property
    def certificate(self) -> x509.Certificate: ...

    @property
    def private_key(self) -> ec.EllipticCurvePrivateKey: ...

    def chain_der(self) -> tuple[bytes, ...]:
        """The certificate, then the CA certificates above it, as DER."""
        ...


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
    try:
        signed = sign_field(
            writer,
            field_name=intent.field_name,
            certificate=event,
            stamp_style=signature_stamp_style(
                handwriting, caption_text(intent.signer_name, intent.signed_at), box
            ),
            timestamper=resolve_timestamper(timestamper, ca),
            signed_at=intent.signed_at,
            certify=certify,
            name=intent.signer_name,
            reason=intent.reason,
            location=intent.location,
        )
    except (PdfError, ValueError, OSError) as exc:  # pyHanko's and the TSA client's errors
        raise SigningError(f"could not sign field {intent.field_name!r}: {exc}") from exc
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


def sign_field(
    writer: IncrementalPdfFileWriter,
    *,
    field_name: str,
    certificate: SigningKey,
    stamp_style: BaseStampStyle | None,
    timestamper: TimeStamper | None,
    signed_at: datetime,
    certify: bool,
    name: str,
    reason: str = "",
    location: str = "",
    permissions: fields.MDPPerm = fields.MDPPerm.FILL_FORMS,
    new_field: bool = False,
) -> bytes:
    """Sign the empty field ``field_name`` of ``writer``: the new revision's bytes.

    The field must exist unless ``new_field`` (then an invisible one is created on page
    1). ``stamp_style`` draws the visible appearance (``None``: invisible). A certifying
    signature allows ``permissions`` afterwards.

    pyHanko's :class:`PdfCMSEmbedder` writes the incremental update (signature dictionary,
    appearance, DocMDP entries); the CMS object itself is written directly as DER
    (:mod:`backend.signing.der`) and stamped by our TSA in-process, which is what makes a
    signature several times cheaper than pyHanko's ``PdfSigner``. Output is the same
    PAdES (ETSI.CAdES.detached) structure: content-type, message-digest and
    signing-certificate-v2 signed attributes, the signature timestamp unsigned.
    """
    writer.ensure_output_version(version=(1, 7))
    if writer.output_version < (2, 0):
        writer.register_extension(constants.ESIC_EXTENSION_1)
    embedder = PdfCMSEmbedder(
        new_field_spec=fields.SigFieldSpec(field_name) if new_field else None
    ).write_cms(field_name=field_name, writer=writer, existing_fields_only=not new_field)
    next(embedder)
    embedder.send(
        SigObjSetup(
            sig_placeholder=SignatureObject(
                timestamp=signed_at,
                subfilter=fields.SigSeedSubFilter.PADES,
                name=name or None,
                reason=reason or None,
                location=location or None,
                bytes_reserved=SIGNATURE_BYTES,
            ),
            mdp_setup=SigMDPSetup(
                md_algorithm="sha256",
                certify=certify,
                docmdp_perms=permissions if certify else None,
            ),
            appearance_setup=(
                None
                if stamp_style is None
                else SigAppearanceSetup(style=stamp_style, timestamp=signed_at, name=name)
            ),
        )
    )
    output = io.BytesIO()
    prepared, _ = embedder.send(SigIOSetup(md_algorithm="sha256", output=output))
    stamp = _stamp_function(timestamper)
    contents = der.signed_data(
        certificate=certificate.certificate,
        key=certificate.private_key,
        content_digest=prepared.document_digest,
        certificates=certificate.chain_der(),
        unsigned_attributes=(
            None
            if stamp is None
            else lambda signature: (
                der.attribute(_SIGNATURE_TIMESTAMP, stamp(hashlib.sha256(signature).digest())),
            )
        ),
    )
    if len(contents) * 2 > SIGNATURE_BYTES:
        raise SigningError("the signature is larger than the room reserved for it")
    embedder.send(contents)
    return output.getvalue()


_SIGNATURE_TIMESTAMP = "1.2.840.113549.1.9.16.2.14"


def _stamp_function(timestamper: TimeStamper | None) -> Callable[[bytes], bytes] | None:
    """SHA-256 digest → DER timestamp token: our own TSA directly, or a pyHanko stamper."""
    if timestamper is None:
        return None
    if isinstance(timestamper, LocalTimeStamper):
        return timestamper.authority.stamp

    def external(digest: bytes) -> bytes:
        token = asyncio.run(timestamper.async_timestamp(digest, "sha256"))
        return bytes(token.dump())

    return external


def resolve_timestamper(choice: TimeStamperChoice, ca: CertificateAuthority) -> TimeStamper | None:
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
