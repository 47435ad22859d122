"""Rendering helpers shared by the automotive-chain template tests."""

from __future__ import annotations

import re
from typing import Any

import pypdfium2 as pdfium

from backend.documents import RenderedDocument, get_template, render_document


def render(key: str, data: dict[str, Any] | None = None) -> RenderedDocument:
    template = get_template(key)
    assert template is not None
    cleaned = template.validate(data if data is not None else template.example_data())
    return render_document(
        template,
        cleaned,
        document_number="SL-20261122-TEST",
        signers={r.key: n for r, n in zip(template.roles, ("王芳", "赵刚", "陈静"), strict=False)},
    )


def text(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [re.sub(r"\s+", "", p.get_textpage().get_text_range()) for p in document]
    finally:
        document.close()


def errors_of(key: str, data: dict[str, Any]) -> dict[str, str]:
    from backend.documents import TemplateDataError

    template = get_template(key)
    assert template is not None
    try:
        template.validate(data)
    except TemplateDataError as exc:
        return {e.path: e.message for e in exc.errors}
    return {}
