"""PDF pages as images for signers to read on a phone (pypdfium2, no browser).

Forms are initialised and drawn, so signature appearances added by earlier
signers show up. PDFium is not thread-safe: calls are serialised per process.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO

import pypdfium2 as pdfium

_FORMATS = {"webp": "WEBP", "png": "PNG", "jpeg": "JPEG", "jpg": "JPEG"}
_pdfium_lock = threading.Lock()


@contextmanager
def _open(pdf: bytes) -> Iterator[pdfium.PdfDocument]:
    with _pdfium_lock:
        document = pdfium.PdfDocument(pdf)
        try:
            document.init_forms()
            yield document
        finally:
            document.close()


def page_count(pdf: bytes) -> int:
    with _open(pdf) as document:
        return len(document)


def render_page_images(
    pdf: bytes, *, width: int = 1080, format: str = "webp", quality: int = 80
) -> list[bytes]:
    """One image per page, ``width`` pixels wide, in ``format`` (webp, png or jpeg)."""
    pil_format = _check(width, format)
    with _open(pdf) as document:
        return [
            _render(document, index, width, pil_format, quality) for index in range(len(document))
        ]


def render_page_image(
    pdf: bytes, index: int, *, width: int = 1080, format: str = "webp", quality: int = 80
) -> bytes:
    """The image of page ``index`` (0-based); IndexError if there is no such page."""
    pil_format = _check(width, format)
    with _open(pdf) as document:
        if not 0 <= index < len(document):
            raise IndexError(f"page {index} out of range (document has {len(document)})")
        return _render(document, index, width, pil_format, quality)


async def async_render_page_images(
    pdf: bytes, *, width: int = 1080, format: str = "webp", quality: int = 80
) -> list[bytes]:
    """:func:`render_page_images` in a worker thread."""
    return await asyncio.to_thread(
        render_page_images, pdf, width=width, format=format, quality=quality
    )


def _check(width: int, format: str) -> str:
    if not 16 <= width <= 4096:
        raise ValueError(f"width must be 16–4096 pixels, got {width}")
    try:
        return _FORMATS[format.lower()]
    except KeyError:
        raise ValueError(f"unsupported image format: {format}") from None


def _render(
    document: pdfium.PdfDocument, index: int, width: int, pil_format: str, quality: int
) -> bytes:
    page = document[index]
    try:
        bitmap = page.render(scale=width / page.get_width(), may_draw_forms=True)
        image = bitmap.to_pil()
    finally:
        page.close()
    if image.width != width:  # scale rounding can be a pixel off
        image = image.resize((width, round(image.height * width / image.width)))
    out = BytesIO()
    image.convert("RGB").save(out, pil_format, quality=quality)
    return out.getvalue()
