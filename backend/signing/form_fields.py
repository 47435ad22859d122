"""The signature fields a PDF holds, in document order, and whether each is signed yet."""

from __future__ import annotations

import io
from dataclasses import dataclass

from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields

from backend.signing.errors import InvalidPdf

__all__ = ["SignatureField", "signature_fields"]


@dataclass(frozen=True, slots=True)
class SignatureField:
    name: str
    signed: bool


def signature_fields(pdf: bytes) -> list[SignatureField]:
    """Every signature field of ``pdf`` (AcroForm order), with whether it holds a signature."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        return [
            SignatureField(str(name), value is not None)
            for name, value, _ in fields.enumerate_sig_fields(reader)
        ]
    except (PdfError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise InvalidPdf("the document is not a readable PDF") from exc
