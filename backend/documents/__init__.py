"""Contract documents: templates, validated data, PDFs with signature fields, page images.

A library for the web layer and workers (no Litestar or Piccolo imports):

- :func:`get_template` / :func:`list_templates` — versioned :class:`ContractTemplate`
  objects; ``template.validate(data)`` returns cleaned data or raises
  :class:`TemplateDataError` listing every bad field (Chinese and English messages).
- :func:`render_document` / :func:`async_render_document` — Chinese PDF (embedded
  Noto subsets, extractable text) with an empty ``sig_<role>`` field per role.
- :func:`render_page_images` / :func:`render_page_image` / :func:`page_count` —
  pages as WebP/PNG/JPEG for reading on a phone.
"""

from backend.documents.amounts import format_yuan, rmb_uppercase
from backend.documents.catalog import ContractTemplate, RoleSpec, get_template, list_templates
from backend.documents.page_images import (
    async_render_page_images,
    page_count,
    render_page_image,
    render_page_images,
)
from backend.documents.rendering import (
    RenderedDocument,
    SignatureSlot,
    async_render_document,
    is_role_field,
    render_document,
    slot_field_name,
)
from backend.documents.validation import FieldError, TemplateDataError

__all__ = [
    "ContractTemplate",
    "FieldError",
    "RenderedDocument",
    "RoleSpec",
    "SignatureSlot",
    "TemplateDataError",
    "async_render_document",
    "async_render_page_images",
    "format_yuan",
    "get_template",
    "is_role_field",
    "list_templates",
    "page_count",
    "render_document",
    "render_page_image",
    "render_page_images",
    "rmb_uppercase",
    "slot_field_name",
]
