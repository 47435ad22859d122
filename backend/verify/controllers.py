"""HTTP for verifying signed PDFs: ``POST /api/v1/verify`` (JSON) and the ``/verify`` page.

Both are public, like a court clerk's check: the report holds only what the PDF itself
shows. Uploads are a raw ``application/pdf`` body or a multipart form with a ``file`` part,
at most ``SIGNLINK_VERIFY_MAX_BYTES``; every refusal is a clear error, never a 500.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import UploadFile
from litestar.response import Template

from backend.config import Settings
from backend.errors import AppError
from backend.i18n import N_
from backend.signing import (
    CertificateAuthority,
    EncryptedPdf,
    InvalidPdf,
    PdfTooLarge,
    VerifyReport,
    async_verify_document,
)
from backend.verify import urls

# Multipart boundaries and headers around the PDF.
_FORM_OVERHEAD = 64 * 1024


def _too_large(limit: int) -> AppError:
    return AppError(
        "too_large",
        N_("文件超过 %(mb)s MB，无法验证。请上传更小的 PDF。") % {"mb": limit // (1024 * 1024)},
        f"The PDF is larger than {limit} bytes.",
        413,
    )


def _no_file() -> AppError:
    return AppError(
        "no_file",
        N_("请选择要验证的 PDF 文件。"),
        "Send the PDF as the request body (application/pdf) or as the multipart part 'file'.",
        400,
    )


async def _read_pdf(request: Request[Any, Any, Any], limit: int) -> bytes:
    """The uploaded PDF, never reading more than ``limit`` (+ form overhead) into memory."""
    ceiling = limit + _FORM_OVERHEAD
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > ceiling:
        raise _too_large(limit)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        if declared is None:  # the declared length is what bounds form parsing
            raise AppError(
                "length_required", "上传缺少 Content-Length。", "Send Content-Length.", 411
            )
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise _no_file()
        data = await upload.read()
    else:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > ceiling:
                raise _too_large(limit)
            chunks.append(chunk)
        data = b"".join(chunks)
    if not data:
        raise _no_file()
    if len(data) > limit:
        raise _too_large(limit)
    return data


async def _verify(request: Request[Any, Any, Any], settings: Settings) -> VerifyReport:
    pdf = await _read_pdf(request, settings.verify_max_bytes)
    ca: CertificateAuthority = request.app.state.ca
    try:
        return await async_verify_document(
            pdf, [ca.root_certificate], max_bytes=settings.verify_max_bytes
        )
    except PdfTooLarge as exc:
        raise AppError("too_large", str(exc), "The PDF is too large.", 413) from exc
    except EncryptedPdf as exc:
        raise AppError("encrypted_pdf", str(exc), "The PDF is encrypted.", 422) from exc
    except InvalidPdf as exc:
        message = (
            str(exc)
            if any("\u4e00" <= c <= "\u9fff" for c in str(exc))
            else N_("PDF 文件已损坏，无法读取。请重新下载原文件后再试。")
        )
        raise AppError("invalid_pdf", message, "The file is not a readable PDF.", 422) from exc


class VerifyController(Controller):
    """Public signature verification: an API and a mobile page."""

    @post(
        urls.API,
        summary="Verify the signatures of a PDF",
        description=(
            "A signed PDF in (raw application/pdf body, or multipart part 'file'), a report "
            "out: per signature the signer, TSA time, whether the chain is trusted, whether "
            "the signed bytes are intact, what changed after it and the PAdES level."
        ),
        request_max_body_size=None,
        status_code=200,
        media_type=MediaType.JSON,
    )
    async def verify_api(self, request: Request[Any, Any, Any], settings: Settings) -> VerifyReport:
        return await _verify(request, settings)

    @get(urls.PAGE, include_in_schema=False)
    async def page(self, settings: Settings) -> Template:
        return Template(
            "pages/verify/verify.html",
            context={"max_mb": settings.verify_max_bytes // (1024 * 1024)},
        )

    @post(urls.PAGE, include_in_schema=False, request_max_body_size=None, status_code=200)
    async def upload(self, request: Request[Any, Any, Any], settings: Settings) -> Template:
        """The same page with the result; an htmx request gets only the result card."""
        name = (
            "pages/verify/_result.html"
            if request.headers.get("hx-request") == "true"
            else "pages/verify/verify.html"
        )
        context: dict[str, Any] = {"max_mb": settings.verify_max_bytes // (1024 * 1024)}
        try:
            context["report"] = await _verify(request, settings)
        except AppError as err:
            context["error"] = err
        return Template(name, context=context)
