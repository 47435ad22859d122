"""HTTP for batch signing (批量签署): unlock, list, read, one SMS code, one drawing, one
confirmation.

Every page hangs under one of the person's own signing links (``/s/<token>/batch``); the
access and batch session cookies are scoped to that path. Until an SMS code sent to the
phone unlocks it, the list (and every other envelope's pages) answers with the unlock
page. Rules live in :mod:`batch_signing`.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from backend.config import Settings
from backend.envelopes import batch_signing, services, urls
from backend.envelopes.batch_signing import BatchList
from backend.envelopes.controllers import (
    _is_htmx,
    page_image_response,
    page_width,
    signer_context,
)
from backend.errors import AppError

BATCH_COOKIE = "sl_batch"
ACCESS_COOKIE = "sl_batch_access"


def _batch_path(token: str) -> str:
    return urls.link(token, "/batch")


async def _form(request: Request[Any, Any, Any]) -> tuple[list[str], bool, str]:
    """The ticked envelopes (signer ids), the "read and agree" tick, the SMS code."""
    form = await request.form()
    chosen = [str(v) for v in form.getall("item")] if "item" in form else []
    return chosen, form.get("agree") == "yes", str(form.get("code") or "")


def _list_page(
    found: BatchList,
    *,
    chosen: list[str] | None = None,
    agreed: bool = False,
    status_code: int = 200,
    **extra: Any,
) -> Template:
    ready = [i.signer_id for i in found.ready if i.read]
    return Template(
        "pages/signing/batch.html",
        context={
            "token": found.anchor.token,
            "signer": found.anchor.signer,
            "sender": found.anchor.sender,
            "found": found,
            "chosen": set(ready if chosen is None else chosen),
            "agreed": agreed,
            **extra,
        },
        status_code=status_code,
    )


def _has_access(request: Request[Any, Any, Any], anchor: services.SignerContext) -> bool:
    return batch_signing.has_access(anchor, request.cookies.get(ACCESS_COOKIE))


def _access_page(
    anchor: services.SignerContext, *, status_code: int = 200, **extra: Any
) -> Template:
    return Template(
        "pages/signing/batch_access.html",
        context={
            "token": anchor.token,
            "signer": anchor.signer,
            "sender": anchor.sender,
            **extra,
        },
        status_code=status_code,
    )


def _go_with_cookie(
    request: Request[Any, Any, Any],
    settings: Settings,
    token: str,
    url: str,
    cookie: tuple[str, str, int],
) -> Response[Any]:
    """Go to ``url`` (an htmx redirect or a 303) with a cookie scoped to this batch."""
    response: Response[Any] = (
        Response(content="", status_code=200, headers={"HX-Redirect": url})
        if _is_htmx(request)
        else Redirect(path=url, status_code=303)
    )
    name, value, seconds = cookie
    response.set_cookie(
        Cookie(
            key=name,
            value=value,
            path=_batch_path(token),
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
            max_age=seconds,
        )
    )
    return response


class BatchSigningPages(Controller):
    include_in_schema = False

    @post(urls.SIGN_BATCH_ACCESS_OTP, status_code=200)
    async def send_access_code(
        self, token: str, request: Request[Any, Any, Any], settings: Settings
    ) -> Template:
        anchor = await signer_context(token)
        try:
            wait = await batch_signing.send_access_code(anchor, settings, request.app.state.sms)
        except AppError as exc:
            if exc.status_code != 429:
                raise
            return _access_page(anchor, error=exc, status_code=429)
        return _access_page(anchor, code_sent=True, resend_after=wait)

    @post(urls.SIGN_BATCH_ACCESS, status_code=200)
    async def unlock(
        self, token: str, request: Request[Any, Any, Any], settings: Settings
    ) -> Response[Any] | Template:
        anchor = await signer_context(token)
        _, _, code = await _form(request)
        check = await batch_signing.confirm_access_code(anchor, code, settings)
        if not check.ok:
            return _access_page(anchor, code_sent=True, error=check.message, status_code=400)
        return _go_with_cookie(
            request,
            settings,
            token,
            _batch_path(token),
            (ACCESS_COOKIE, batch_signing.access_pass(anchor), batch_signing.ACCESS_SECONDS),
        )

    @get(urls.SIGN_BATCH_OFFER)
    async def offer(self, token: str) -> Template:
        """The read page's hint (loaded after the page): "N more waiting — sign together"."""
        anchor = await signer_context(token)
        found = await batch_signing.waiting_for(anchor)
        others = [i for i in found.ready if i.ctx.signer.id != anchor.signer.id]
        return Template(
            "pages/signing/partials/batch_offer.html",
            context={"token": token, "count": len(others), "sender": anchor.sender},
        )

    @get(urls.SIGN_BATCH)
    async def list_waiting(self, token: str, request: Request[Any, Any, Any]) -> Template:
        anchor = await signer_context(token)
        if not _has_access(request, anchor):
            return _access_page(anchor)
        return _list_page(await batch_signing.waiting_for(anchor))

    @get(urls.SIGN_BATCH_VIEW)
    async def view(
        self, token: str, signer_id: uuid.UUID, request: Request[Any, Any, Any]
    ) -> Template:
        anchor = await signer_context(token)
        if not _has_access(request, anchor):
            return _access_page(anchor, status_code=403)
        item = (await batch_signing.waiting_for(anchor)).item(str(signer_id))
        if item is None:
            return Template(
                "pages/signing/batch_view.html",
                context={"token": token, "item": None},
                status_code=404,
            )
        return Template("pages/signing/batch_view.html", context={"token": token, "item": item})

    @get(urls.SIGN_BATCH_PAGE)
    async def page(
        self,
        token: str,
        signer_id: uuid.UUID,
        index: int,
        request: Request[Any, Any, Any],
        w: str | None = None,
    ) -> Response[bytes]:
        width = page_width(w)
        anchor = await signer_context(token)
        if not _has_access(request, anchor):
            raise services.not_found()  # as for any page this link does not show
        item = (await batch_signing.waiting_for(anchor)).item(str(signer_id))
        if item is None:
            raise services.not_found()
        # The last page marks that envelope as read, as on its own link.
        return page_image_response(await services.page_image(item.ctx, index, width))

    @post(urls.SIGN_BATCH_OTP, status_code=200)
    async def send_code(
        self, token: str, request: Request[Any, Any, Any], settings: Settings
    ) -> Template:
        anchor = await signer_context(token)
        if not _has_access(request, anchor):
            return _access_page(anchor, status_code=403)
        chosen, agreed, _ = await _form(request)
        try:
            picked, wait = await batch_signing.send_code(
                anchor, chosen, agreed, settings, request.app.state.sms
            )
        except AppError as exc:
            if exc.status_code not in (400, 429):
                raise
            return _list_page(
                await batch_signing.waiting_for(anchor),
                chosen=chosen,
                agreed=agreed,
                error=exc,
                status_code=exc.status_code,
            )
        return _list_page(
            await batch_signing.waiting_for(anchor),
            chosen=[i.signer_id for i in picked],
            agreed=agreed,
            code_sent=True,
            resend_after=wait,
        )

    @post(urls.SIGN_BATCH_VERIFY, status_code=200)
    async def verify(
        self, token: str, request: Request[Any, Any, Any], settings: Settings
    ) -> Response[Any] | Template:
        anchor = await signer_context(token)
        if not _has_access(request, anchor):
            return _access_page(anchor, status_code=403)
        chosen, agreed, code = await _form(request)
        try:
            session, check, _ = await batch_signing.confirm_code(
                anchor, chosen, agreed, code, settings
            )
        except AppError as exc:
            if exc.status_code != 400:
                raise
            return _list_page(
                await batch_signing.waiting_for(anchor),
                chosen=chosen,
                agreed=agreed,
                error=exc,
                status_code=400,
            )
        if session is None:
            return _list_page(
                await batch_signing.waiting_for(anchor),
                chosen=chosen,
                agreed=agreed,
                code_sent=True,
                error=check.message,
                status_code=400,
            )
        return _go_with_cookie(
            request,
            settings,
            token,
            urls.link(token, "/batch/sign"),
            (BATCH_COOKIE, session, settings.intent_ttl_seconds),
        )

    @get(urls.SIGN_BATCH_PAD)
    async def pad(
        self, token: str, request: Request[Any, Any, Any], settings: Settings
    ) -> Template | Redirect:
        anchor = await signer_context(token)
        try:
            contexts = await batch_signing.in_session(
                anchor, request.cookies.get(BATCH_COOKIE), settings
            )
        except AppError:
            return Redirect(path=_batch_path(token))
        return Template(
            "pages/signing/batch_sign.html",
            context={"token": token, "signer": anchor.signer, "contexts": contexts},
        )

    @post(urls.SIGN_BATCH_SIGNATURE, status_code=200)
    async def signature(
        self, token: str, request: Request[Any, Any, Any], settings: Settings
    ) -> Template:
        anchor = await signer_context(token)
        session = request.cookies.get(BATCH_COOKIE)
        form = await request.form()
        try:
            png, contexts = await batch_signing.submit_drawing(
                anchor, session, str(form.get("strokes") or ""), settings
            )
        except AppError as exc:
            if not exc.code.startswith("handwriting"):
                raise
            contexts = await batch_signing.in_session(anchor, session, settings)
            return Template(
                "pages/signing/batch_sign.html",
                context={
                    "token": token,
                    "signer": anchor.signer,
                    "contexts": contexts,
                    "pad_error": exc,
                },
                status_code=400,
            )
        preview = "data:image/png;base64," + base64.b64encode(png).decode()
        return Template(
            "pages/signing/batch_confirm.html",
            context={"token": token, "contexts": contexts, "preview": preview},
        )

    @post(urls.SIGN_BATCH_CONFIRM, status_code=200)
    async def confirm(
        self, token: str, request: Request[Any, Any, Any], settings: Settings
    ) -> Template:
        anchor = await signer_context(token)
        results = await batch_signing.sign_all(
            anchor,
            request.cookies.get(BATCH_COOKIE),
            settings,
            request.app.state.ca,
            request.headers.get("user-agent", ""),
        )
        # The done page is this response: the session is spent, nothing to come back to.
        response = Template(
            "pages/signing/batch_done.html",
            context={"token": token, "results": results, "sender": anchor.sender},
        )
        response.delete_cookie(BATCH_COOKIE, path=_batch_path(token))
        return response
