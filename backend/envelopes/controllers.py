"""HTTP for envelopes: the JSON API for business systems and the signer's pages."""

from __future__ import annotations

import base64
import uuid
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from backend import documents
from backend.config import Settings
from backend.envelopes import listing, page_cache, schemas, services, urls
from backend.envelopes.services import SignerContext
from backend.errors import AppError
from backend.orgs.services import Caller

SESSION_COOKIE = "sl_intent"
FormBody = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


class EnvelopeApi(Controller):
    tags = ("envelopes",)
    security = ({"BearerAuth": []},)

    @post(urls.API_ENVELOPES, status_code=201, summary="Create and send an envelope")
    async def create(
        self, data: schemas.CreateEnvelope, caller: Caller, settings: Settings
    ) -> schemas.EnvelopeOut:
        envelope_id = await services.create_envelope(caller, data, settings)
        return await services.envelope_out(envelope_id, caller.organisation_id)

    @get(urls.API_ENVELOPES, summary="Envelopes, newest first (cursor pagination)")
    async def list_envelopes(
        self,
        caller: Caller,
        status: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> listing.EnvelopePage:
        return await listing.list_envelopes(
            caller.organisation_id, status=status, limit=limit, cursor=cursor
        )

    @get(urls.API_ENVELOPE, summary="Status and signers of an envelope")
    async def show(self, envelope_id: uuid.UUID, caller: Caller) -> schemas.EnvelopeOut:
        return await services.envelope_out(envelope_id, caller.organisation_id)

    @get(
        urls.API_ENVELOPE_PDF,
        summary="The current PDF (signed so far)",
        media_type="application/pdf",
    )
    async def pdf(self, envelope_id: uuid.UUID, caller: Caller) -> Response[bytes]:
        env, pdf = await services.api_pdf(envelope_id, caller.organisation_id)
        return _pdf_response(pdf, f"{env.number}.pdf")

    @get(urls.API_TEMPLATES, summary="Templates, their roles and data fields")
    async def templates(self, caller: Caller) -> list[schemas.TemplateOut]:
        return [
            schemas.TemplateOut(
                key=t.key,
                version=t.version,
                title=t.title,
                title_en=t.title_en,
                roles=t.describe()["roles"],  # type: ignore[arg-type]
                fields=t.describe_fields(),
                description=t.description,
                preview_url=f"/api/v1/templates/{t.key}/preview.pdf",
            )
            for t in documents.list_templates()
        ]


def _pdf_response(pdf: bytes, filename: str) -> Response[bytes]:
    return Response(
        content=pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store",
        },
    )


def _is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def _go(request: Request[Any, Any, Any], url: str) -> Response[Any]:
    """Redirect after a POST: htmx follows HX-Redirect, a plain form follows 303."""
    if _is_htmx(request):
        return Response(content="", status_code=200, headers={"HX-Redirect": url})
    return Redirect(path=url, status_code=303)


def go_to_signing(
    request: Request[Any, Any, Any], token: str, session: str, settings: Settings
) -> Response[Any]:
    """After a confirmed intent (SMS code or face): carry the session to the pad page."""
    response = _go(request, urls.link(token, "/sign"))
    response.set_cookie(
        Cookie(
            key=SESSION_COOKIE,
            value=session,
            path=urls.link(token),
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
            max_age=settings.intent_ttl_seconds,
        )
    )
    return response


async def signer_context(token: str) -> SignerContext:
    """The signer behind a link, or the Chinese 'link invalid' page."""
    return await _context(token)


async def _context(token: str) -> SignerContext:
    ctx = await services.resolve_link(token)
    if ctx is None:
        raise AppError(
            "link_invalid",
            "链接无效或已过期",
            "This link is invalid or has expired.",
            404,
        )
    return ctx


def _page_vars(ctx: SignerContext, **extra: Any) -> dict[str, Any]:
    return {"ctx": ctx, "env": ctx.envelope, "signer": ctx.signer, "token": ctx.token, **extra}


def page_width(w: str | None) -> int:
    """The ``?w=`` of a page image: one of PAGE_WIDTHS (the pages' srcset), else a 400."""
    width = services.PAGE_WIDTH if w is None else (int(w) if w.isdigit() else 0)
    if width not in services.PAGE_WIDTHS:
        raise AppError(
            "validation_failed",
            "不支持的图片宽度。",
            f"Unsupported width; use one of {', '.join(map(str, services.PAGE_WIDTHS))}.",
            400,
        )
    return width


def page_image_response(image: bytes) -> Response[bytes]:
    return Response(
        content=image, media_type="image/webp", headers={"Cache-Control": "private, max-age=600"}
    )


class SignerPages(Controller):
    include_in_schema = False

    @get(urls.SIGN_LINK, middleware=[page_cache.LandingPageCache])
    async def open_link(self, token: str, request: Request[Any, Any, Any]) -> Template | Redirect:
        ctx = page_cache.context(request.scope, token) or await _context(token)
        if ctx.signer.status == "signed":
            return Redirect(path=urls.link(token, "/done"))
        if ctx.is_turn and ctx.signer.viewed_at is None:
            client = request.client.host if request.client else ""
            await services.record_view(ctx, client, request.headers.get("user-agent", ""))
        else:  # nothing written: the same rows give the same page
            page_cache.mark_cacheable(request.scope)
        return Template("pages/signing/read.html", context=_page_vars(ctx))

    @get(urls.SIGN_PAGE_IMAGE)
    async def page(self, token: str, index: int, w: str | None = None) -> Response[bytes]:
        ctx = await _context(token)
        return page_image_response(await services.page_image(ctx, index, page_width(w)))

    @post(urls.SIGN_OTP_SEND, status_code=200)
    async def otp_send(
        self, token: str, request: Request[Any, Any, Any], settings: Settings
    ) -> Template:
        ctx = await _context(token)
        sms = request.app.state.sms
        error: AppError | None = None  # shown in the page's language
        wait = 0
        try:
            wait = await services.send_intent_code(ctx, settings, sms)
        except AppError as exc:
            if exc.code != "otp_rate_limited":
                raise
            error = exc
        name = "pages/signing/partials/otp.html" if _is_htmx(request) else "pages/signing/read.html"
        return Template(
            name, context=_page_vars(ctx, code_sent=True, resend_after=wait, otp_error=error)
        )

    @post(urls.SIGN_OTP_VERIFY, status_code=200)
    async def otp_verify(
        self, token: str, request: Request[Any, Any, Any], data: FormBody, settings: Settings
    ) -> Response[Any] | Template:
        ctx = await _context(token)
        session, check = await services.confirm_intent_code(ctx, data.get("code", ""), settings)
        if session is None:
            name = (
                "pages/signing/partials/otp.html"
                if _is_htmx(request)
                else "pages/signing/read.html"
            )
            return Template(
                name,
                context=_page_vars(
                    ctx, code_sent=True, otp_error=check.message, locked=check.locked
                ),
                status_code=200 if _is_htmx(request) else 400,
            )
        return go_to_signing(request, token, session, settings)

    @get(urls.SIGN_PAD)
    async def pad(
        self, token: str, request: Request[Any, Any, Any], settings: Settings
    ) -> Template | Redirect:
        ctx = await _context(token)
        if ctx.signer.status == "signed":
            return Redirect(path=urls.link(token, "/done"))
        if not ctx.is_turn or not services.has_intent_session(
            ctx, request.cookies.get(SESSION_COOKIE), settings
        ):
            return Redirect(path=urls.link(token))
        return Template("pages/signing/sign.html", context=_page_vars(ctx))

    @post(urls.SIGN_HANDWRITING, status_code=200)
    async def handwriting(
        self, token: str, request: Request[Any, Any, Any], data: FormBody, settings: Settings
    ) -> Template:
        ctx = await _context(token)
        session = request.cookies.get(SESSION_COOKIE)
        try:
            # The vector strokes are the signature; the pad's own PNG is only its live preview.
            png = await services.submit_handwriting(ctx, session, data.get("strokes", ""), settings)
        except AppError as exc:
            if not exc.code.startswith("handwriting"):
                raise
            return Template(
                "pages/signing/sign.html",
                context=_page_vars(ctx, pad_error=exc),
                status_code=400,
            )
        preview = "data:image/png;base64," + base64.b64encode(png).decode()
        return Template("pages/signing/confirm.html", context=_page_vars(ctx, preview=preview))

    @post(urls.SIGN_CONFIRM, status_code=200)
    async def confirm(
        self, token: str, request: Request[Any, Any, Any], settings: Settings
    ) -> Response[Any]:
        ctx = await _context(token)
        await services.sign(
            ctx,
            request.cookies.get(SESSION_COOKIE),
            settings,
            request.app.state.ca,
            request.headers.get("user-agent", ""),
        )
        response = _go(request, urls.link(token, "/done"))
        response.delete_cookie(SESSION_COOKIE, path=urls.link(token))
        return response

    @get(urls.SIGN_DONE)
    async def done(self, token: str) -> Template | Redirect:
        ctx = await _context(token)
        if ctx.signer.status != "signed":
            return Redirect(path=urls.link(token))
        return Template("pages/signing/done.html", context=_page_vars(ctx))

    @get(urls.SIGN_DOWNLOAD, media_type="application/pdf")
    async def download(self, token: str) -> Response[bytes]:
        ctx = await _context(token)
        if ctx.signer.status != "signed":
            raise AppError(
                "not_signed", "签署完成后才能下载合同。", "Sign first, then download.", 403
            )
        _, pdf = await services.current_pdf(ctx.envelope.id)
        await services.record_download(ctx)
        return _pdf_response(pdf, f"{ctx.envelope.title}-{ctx.envelope.number}.pdf")
