"""Company seals on PDFs: a visible seal signature, optionally with a cross-page seal (骑缝章).

The seal signature is signed with a one-use organisation certificate
(:meth:`CertificateAuthority.issue_organisation_certificate`) and timestamped (PAdES
B-T), like a person's signature. With ``cross_page=True`` the same revision also stamps a
vertical slice of the seal on the right edge of every page, so that the pages laid on
top of each other, edges fanned out, show one seal; the slices are ``/Stamp`` annotations
(printed, locked) inside the signed revision, so the signature covers them.

A cross-page seal adds annotations, which a certification signature with P=2 forbids
later on: it is refused unless the seal is the first signature of the document (which
then certifies it). Seal first, then the other signers.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator

from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.images import pil_image
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields, signers

from backend.signing.appearance import signature_stamp_style
from backend.signing.ca import CertificateAuthority, EventCertificate
from backend.signing.errors import IntentMismatch, SigningError
from backend.signing.pades import (
    SIGNATURE_BYTES,
    SignedRevision,
    TimeStamperChoice,
    _empty_field_box,
    _open,
    _pyhanko_signer,
    _resolve_timestamper,
    is_unsigned,
)
from backend.signing.seal import seal_image

__all__ = ["CROSS_PAGE_SEAL_POINTS", "sign_seal"]

CROSS_PAGE_SEAL_POINTS = 119.0
"""Diameter of the cross-page seal: 42 mm, the size of a standard company seal."""
_PRINT_AND_LOCKED = 4 | 128


def sign_seal(
    pdf: bytes,
    field_name: str,
    seal_png: bytes,
    organisation: EventCertificate,
    ca: CertificateAuthority,
    *,
    document_sha256: str | None = None,
    cross_page: bool = False,
    reason: str = "盖章",
    timestamper: TimeStamperChoice = None,
) -> SignedRevision:
    """Seal ``field_name`` of ``pdf`` with ``seal_png`` for the organisation certificate.

    ``seal_png``: :func:`generate_round_seal` output or an uploaded transparent PNG
    (checked by :func:`seal_image`). ``document_sha256``, if given, must match ``pdf``.
    The first signature of a document certifies it (DocMDP P=2), as in
    :func:`sign_intent`. Blocking.
    """
    if document_sha256 is not None and hashlib.sha256(pdf).hexdigest() != (
        document_sha256.strip().lower()
    ):
        raise IntentMismatch("the PDF is not the revision the organisation approved")
    seal = seal_image(seal_png)
    writer = _open(pdf)
    box = _empty_field_box(writer, field_name)
    certify = is_unsigned(writer)
    if cross_page:
        if not certify:
            raise SigningError(
                "a cross-page seal (骑缝章) must be the document's first signature: its "
                "page annotations would break an earlier certification signature"
            )
        _stamp_cross_page_seal(writer, seal)
    subject = organisation.certificate.subject.rfc4514_string()
    names = [a.value for a in organisation.certificate.subject if a.oid.dotted_string == "2.5.4.3"]
    pdf_signer = signers.PdfSigner(
        signers.PdfSignatureMetadata(
            field_name=field_name,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            name=str(names[0]) if names else subject,
            reason=reason or None,
            certify=certify,
            docmdp_permissions=fields.MDPPerm.FILL_FORMS,
        ),
        signer=_pyhanko_signer(organisation),
        timestamper=_resolve_timestamper(timestamper, ca),
        stamp_style=signature_stamp_style(seal, "", box),
    )
    output = io.BytesIO()
    try:
        pdf_signer.sign_pdf(
            writer, existing_fields_only=True, bytes_reserved=SIGNATURE_BYTES, output=output
        )
    except (PdfError, ValueError, OSError) as exc:
        raise SigningError(f"could not seal field {field_name!r}: {exc}") from exc
    signed = output.getvalue()
    return SignedRevision(
        pdf=signed,
        sha256=hashlib.sha256(signed).hexdigest(),
        certificate_serial=format(organisation.certificate.serial_number, "032x"),
        field_name=field_name,
    )


def _pages(
    node: generic.DictionaryObject, ref: generic.IndirectObject | None, media_box: object
) -> Iterator[tuple[generic.IndirectObject, list[float]]]:
    """(page reference, effective MediaBox) in page order; MediaBox may be inherited."""
    media_box = node.get("/MediaBox", media_box)
    if node.get("/Type") == "/Pages" or "/Kids" in node:
        for kid in node["/Kids"]:
            yield from _pages(kid.get_object(), kid, media_box)
    elif ref is not None:
        yield ref, [float(v) for v in media_box]  # type: ignore[attr-defined]


def _stamp_cross_page_seal(writer: IncrementalPdfFileWriter, seal: Image.Image) -> None:
    pages = list(_pages(writer.root["/Pages"], None, [0, 0, 595, 842]))
    if len(pages) < 2:
        return  # one page has no edge to seal across
    count = len(pages)
    slice_width = CROSS_PAGE_SEAL_POINTS / count
    height = CROSS_PAGE_SEAL_POINTS
    for index, (page_ref, (_x0, y0, x1, y1)) in enumerate(pages):
        left = round(index * seal.width / count)
        right = round((index + 1) * seal.width / count)
        strip = seal.crop((left, 0, max(right, left + 1), seal.height))
        rect = (x1 - slice_width, (y0 + y1 - height) / 2, x1, (y0 + y1 + height) / 2)
        appearance = generic.StreamObject(
            {
                pdf_name("/Type"): pdf_name("/XObject"),
                pdf_name("/Subtype"): pdf_name("/Form"),
                pdf_name("/BBox"): generic.ArrayObject(
                    generic.FloatObject(v) for v in (0, 0, slice_width, height)
                ),
                pdf_name("/Resources"): generic.DictionaryObject(
                    {
                        pdf_name("/XObject"): generic.DictionaryObject(
                            {pdf_name("/Seal"): pil_image(strip, writer)}
                        )
                    }
                ),
            },
            stream_data=b"q %g 0 0 %g 0 0 cm /Seal Do Q" % (slice_width, height),
        )
        annotation = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/Stamp"),
                pdf_name("/Rect"): generic.ArrayObject(generic.FloatObject(v) for v in rect),
                pdf_name("/F"): generic.NumberObject(_PRINT_AND_LOCKED),
                pdf_name("/NM"): generic.TextStringObject(f"signlink-cross-page-seal-{index + 1}"),
                pdf_name("/Contents"): generic.TextStringObject("骑缝章"),
                pdf_name("/P"): page_ref,
                pdf_name("/AP"): generic.DictionaryObject(
                    {pdf_name("/N"): writer.add_object(appearance)}
                ),
            }
        )
        writer.register_annotation(page_ref, writer.add_object(annotation))
