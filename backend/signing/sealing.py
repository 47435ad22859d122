"""Company seals on PDFs: a visible seal signature, optionally with a cross-page seal (骑缝章).

The seal signature is signed with a one-use organisation certificate
(:meth:`CertificateAuthority.issue_organisation_certificate`) and timestamped (PAdES
B-T), like a person's signature. With ``cross_page=True`` a vertical slice of the seal is
also stamped on the right edge of every page, so that the pages laid on top of each other,
edges fanned out, show one seal.

Each slice is a signature of its own: one signature field per page (``<field>-cross-page-N``)
signed with the same organisation certificate right after the seal, its appearance the
slice. Signing existing empty fields is what a certification with P=2 allows, so the
cross-page seal works at any position among the signers, and nothing can be added to a
page after signing without showing up as a modification. The slice fields are created
empty before the first signature, by :func:`reserve_cross_page_seal` when the envelope is
prepared; if the seal itself is the first signature, its own revision creates them.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime

from PIL import Image
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields
from pyhanko.stamp import BaseStampStyle, StaticStampStyle

from backend.signing.appearance import signature_stamp_style
from backend.signing.ca import CertificateAuthority, EventCertificate
from backend.signing.errors import IntentMismatch, SigningError
from backend.signing.pades import (
    SignedRevision,
    TimeStamperChoice,
    _empty_field_box,
    _open,
    is_unsigned,
    resolve_timestamper,
    sign_field,
)
from backend.signing.seal import seal_image

__all__ = ["CROSS_PAGE_SEAL_POINTS", "reserve_cross_page_seal", "sign_seal"]

CROSS_PAGE_SEAL_POINTS = 119.0
"""Diameter of the cross-page seal: 42 mm, the size of a standard company seal."""


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
    slices = _slice_fields(writer, field_name) if cross_page else []
    if cross_page and not slices:
        if not certify:
            raise SigningError(
                "a cross-page seal (骑缝章) after other signatures needs its page fields "
                "reserved before the first signature (reserve_cross_page_seal)"
            )
        slices = _add_slice_fields(writer, field_name)
    names = [a.value for a in organisation.certificate.subject if a.oid.dotted_string == "2.5.4.3"]
    name = str(names[0]) if names else organisation.certificate.subject.rfc4514_string()

    stamper = resolve_timestamper(timestamper, ca)

    def seal_field(
        writer: IncrementalPdfFileWriter, field: str, style: BaseStampStyle, first: bool
    ) -> bytes:
        try:
            return sign_field(
                writer,
                field_name=field,
                certificate=organisation,
                stamp_style=style,
                timestamper=stamper,
                signed_at=datetime.now(UTC),
                certify=first,
                name=name,
                reason=reason,
            )
        except (PdfError, ValueError, OSError) as exc:
            raise SigningError(f"could not seal field {field!r}: {exc}") from exc

    signed = seal_field(writer, field_name, signature_stamp_style(seal, "", box), certify)
    count = len(slices)
    for index, slice_name in enumerate(slices):
        left = round(index * seal.width / count)
        right = max(round((index + 1) * seal.width / count), left + 1)
        strip = seal.crop((left, 0, right, seal.height))
        signed = seal_field(_open(signed), slice_name, _full_box_style(strip), False)
    return SignedRevision(
        pdf=signed,
        sha256=hashlib.sha256(signed).hexdigest(),
        certificate_serial=format(organisation.certificate.serial_number, "032x"),
        field_name=field_name,
    )


def reserve_cross_page_seal(pdf: bytes, field_name: str) -> bytes:
    """``pdf`` with the empty per-page fields a cross-page seal on ``field_name`` will sign.

    Call it on the unsigned document (fields cannot be added after the first signature
    certifies it); then :func:`sign_seal` with ``cross_page=True`` may come at any position
    among the signers. A one-page document needs no fields and is returned unchanged.
    """
    writer = _open(pdf)
    _empty_field_box(writer, field_name)
    if not is_unsigned(writer):
        raise SigningError("cross-page seal fields must be reserved before the first signature")
    if _slice_fields(writer, field_name) or not _add_slice_fields(writer, field_name):
        return pdf
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def _slice_name(field_name: str, index: int) -> str:
    return f"{field_name}-cross-page-{index + 1}"


def _slice_fields(writer: IncrementalPdfFileWriter, field_name: str) -> list[str]:
    """Names of the empty reserved slice fields of ``field_name``, in page order."""
    empty = {name for name, value, _ in fields.enumerate_sig_fields(writer) if value is None}
    names: list[str] = []
    while _slice_name(field_name, len(names)) in empty:
        names.append(_slice_name(field_name, len(names)))
    return names


def _add_slice_fields(writer: IncrementalPdfFileWriter, field_name: str) -> list[str]:
    pages = list(_pages(writer.root["/Pages"], None, [0, 0, 595, 842]))
    if len(pages) < 2:
        return []  # one page has no edge to seal across
    slice_width = CROSS_PAGE_SEAL_POINTS / len(pages)
    height = CROSS_PAGE_SEAL_POINTS
    names = []
    for index, (_page_ref, (_x0, y0, x1, y1)) in enumerate(pages):
        name = _slice_name(field_name, index)
        box = (x1 - slice_width, (y0 + y1 - height) / 2, x1, (y0 + y1 + height) / 2)
        fields.append_signature_field(
            writer,
            fields.SigFieldSpec(
                name,
                on_page=index,
                box=box,  # type: ignore[arg-type]  # pyHanko takes float coordinates
            ),
        )
        names.append(name)
    return names


def _full_box_style(image: Image.Image) -> StaticStampStyle:
    """A stamp whose appearance is ``image`` stretched over the whole widget."""
    return StaticStampStyle(
        background=PdfImage(image),
        background_opacity=1.0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins(),
            inner_content_scaling=layout.InnerScaling.STRETCH_FILL,
        ),
        border_width=0,
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
