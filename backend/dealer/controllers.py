"""HTTP for the dealer's phone pages: thin handlers over envelopes, lifecycle and members."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from backend import documents, i18n
from backend.config import Settings
from backend.dealer import services, urls
from backend.envelopes import lifecycle, milestones, stamping
from backend.envelopes import services as envelopes
from backend.envelopes.controllers import _pdf_response
from backend.envelopes.tables import Envelope, Signer
from backend.errors import AppError
from backend.i18n import N_
from backend.keys import sha256_hex
from backend.orgs import members
from backend.orgs.members import SESSION_COOKIE, MemberContext
from backend.orgs.services import Caller
from backend.wechat import JsSdk

FormBody = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
# Repeated keys (checkboxes) arrive as lists.
MultiFormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
THUMB_WIDTH = 300


def _htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


async def _member(request: Request[Any, Any, Any]) -> MemberContext | None:
    return await members.from_session(request.cookies.get(SESSION_COOKIE))


def _to_login() -> Redirect:
    return Redirect(path=urls.LOGIN, status_code=303)


async def _own_envelope(ctx: MemberContext, envelope_id: uuid.UUID) -> Envelope:
    env = (
        await Envelope.objects()
        .where((Envelope.id == envelope_id) & (Envelope.organisation == ctx.organisation_id))
        .first()
    )
    if env is None:
        raise envelopes.not_found()
    return env


def _forbidden(role: str) -> AppError:
    label = members.ROLE_LABELS[role]
    return AppError("forbidden", f"需要“{label}”角色才能执行此操作。", f"Needs role {role}.", 403)


class DealerPages(Controller):
    include_in_schema = False

    # ---------------------------------------------------------------- login

    @get(urls.LOGIN)
    async def login_form(self) -> Template:
        return Template("pages/dealer/login.html")

    @post(urls.LOGIN_CODE, status_code=200)
    async def login_code(
        self, request: Request[Any, Any, Any], data: FormBody, settings: Settings
    ) -> Template:
        phone = data.get("phone", "")
        try:
            notice = await members.send_login_code(phone, settings, request.app.state.sms)
            error = ""
        except AppError as exc:
            notice, error = "", i18n.translate(exc.fields[0] if exc.fields else exc)
        return Template(
            "pages/dealer/login.html",
            context={"phone": phone, "code_sent": not error, "notice": notice, "error": error},
            status_code=200 if not error else 400,
        )

    @post(urls.LOGIN, status_code=200)
    async def login(self, data: FormBody, settings: Settings) -> Response[Any] | Template:
        phone = data.get("phone", "")
        try:
            token, _ = await members.log_in(phone, data.get("code", ""), settings)
        except AppError as exc:
            message = i18n.translate(exc.fields[0] if exc.fields else exc)
            return Template(
                "pages/dealer/login.html",
                context={"phone": phone, "code_sent": True, "error": message},
                status_code=400,
            )
        response: Response[Any] = Redirect(path=urls.APP, status_code=303)
        response.set_cookie(
            Cookie(
                key=SESSION_COOKIE,
                value=token,
                path="/app",
                httponly=True,
                samesite="lax",
                secure=settings.secure_cookies,
                max_age=settings.member_session_hours * 3600,
            )
        )
        return response

    @post(urls.LOGOUT, status_code=303)
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        await members.log_out(request.cookies.get(SESSION_COOKIE))
        response = _to_login()
        response.delete_cookie(SESSION_COOKIE, path="/app")
        return response

    # ---------------------------------------------------------------- list

    @get(urls.APP)
    async def home(
        self, request: Request[Any, Any, Any], status: str | None = None, q: str | None = None
    ) -> Template | Redirect:
        ctx = await _member(request)
        if ctx is None:
            return _to_login()
        rows = await services.search(ctx.organisation_id, status, q)
        context = {"me": ctx, "rows": rows, "status": status or "", "q": q or "",
                   "statuses": services.STATUS_LABELS}  # fmt: skip
        if _htmx(request) and request.headers.get("hx-target") == "envelope-list":
            return Template("pages/dealer/_list.html", context=context)
        return Template("pages/dealer/home.html", context=context)

    @get(urls.EXPORT)
    async def export(
        self, request: Request[Any, Any, Any], status: str | None = None, q: str | None = None
    ) -> Response[str] | Redirect:
        ctx = await _member(request)
        if ctx is None:
            return _to_login()
        text = await services.export_csv(ctx.organisation_id, status, q)
        return Response(
            content=text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="envelopes.csv"'},
        )

    # ---------------------------------------------------------------- create

    @get(urls.NEW)
    async def pick_template(self, request: Request[Any, Any, Any]) -> Template | Redirect:
        ctx = await _member(request)
        if ctx is None:
            return _to_login()
        return Template(
            "pages/dealer/new.html", context={"me": ctx, "templates": documents.list_templates()}
        )

    def _form(
        self,
        ctx: MemberContext,
        template: documents.ContractTemplate,
        values: dict[str, str],
        errors: dict[str, str],
        status_code: int = 200,
    ) -> Template:
        defaults = {"dealer.name": ctx.organisation_name}
        data, signers = services.form_inputs(template, values, errors, defaults)
        general = [m for p, m in errors.items() if p in ("signers", "template", "data")]
        return Template(
            "pages/dealer/form.html",
            context={
                "me": ctx,
                "template": template,
                "data_inputs": data,
                "signer_inputs": signers,
                "stamp_roles": services.stamp_choices(template),
                "stamp_role": values.get("stamp_role", ""),
                "general_errors": general,
            },
            status_code=status_code,
        )

    @get(urls.NEW_FROM)
    async def new_form(self, key: str, request: Request[Any, Any, Any]) -> Template | Redirect:
        ctx = await _member(request)
        if ctx is None:
            return _to_login()
        template = documents.get_template(key)
        if template is None:
            raise envelopes._unknown_template(key)
        return self._form(ctx, template, {}, {})

    @post(urls.NEW_FROM, status_code=200)
    async def create(
        self, key: str, request: Request[Any, Any, Any], data: FormBody, settings: Settings
    ) -> Response[Any] | Template:
        ctx = await _member(request)
        if ctx is None:
            return _to_login()
        if not ctx.may("sender"):
            raise _forbidden("sender")
        template = documents.get_template(key)
        if template is None:
            raise envelopes._unknown_template(key)
        body = services.body_from_form(template, data, ctx.organisation_name)
        try:
            envelope_id = await envelopes.create_envelope(ctx.caller(), body, settings)
        except AppError as exc:
            if not exc.fields:
                raise
            errors: dict[str, str] = {}
            for problem in exc.fields:
                errors.setdefault(problem.path, i18n.translate(problem))
            return self._form(ctx, template, data, errors, status_code=400)
        target = urls.envelope(envelope_id)
        if _htmx(request):
            return Response(content="", headers={"HX-Redirect": target})
        return Redirect(path=target, status_code=303)

    # ---------------------------------------------------------------- one envelope

    async def _detail(
        self, ctx: MemberContext, envelope_id: uuid.UUID, settings: Settings, **extra: Any
    ) -> Template:
        env = await _own_envelope(ctx, envelope_id)
        shown = await envelopes.envelope_out(env.id, ctx.organisation_id)
        signers = list(
            await Signer.objects().where(Signer.envelope == env.id).order_by(Signer.routing_order)
        )
        return Template(
            "pages/dealer/envelope.html",
            context={
                "me": ctx,
                "env": env,
                "shown": shown,
                "status_label": services.STATUS_LABELS.get(shown.status, shown.status),
                "links": services.share_links(settings, signers) if shown.status == "sent" else [],
                "history": milestones.for_page(env),
                **extra,
            },
        )

    @get(urls.ENVELOPE)
    async def envelope(
        self, envelope_id: uuid.UUID, request: Request[Any, Any, Any], settings: Settings
    ) -> Template | Redirect:
        ctx = await _member(request)
        if ctx is None:
            return _to_login()
        return await self._detail(ctx, envelope_id, settings)

    @get(urls.ENVELOPE_PDF, media_type="application/pdf")
    async def pdf(
        self, envelope_id: uuid.UUID, request: Request[Any, Any, Any]
    ) -> Response[bytes] | Redirect:
        ctx = await _member(request)
        if ctx is None:
            return _to_login()
        env, pdf = await envelopes.api_pdf(envelope_id, ctx.organisation_id)
        return _pdf_response(pdf, f"{env.title}-{env.number}.pdf")

    async def _sender_action(
        self,
        request: Request[Any, Any, Any],
        envelope_id: uuid.UUID,
        settings: Settings,
        action: Callable[[Caller], Awaitable[object]],
        *,
        notice: str,
        error_key: str,
    ) -> Template | Redirect:
        """Run a sender's action on one envelope; show the envelope with its outcome."""
        ctx = await _member(request)
        if ctx is None:
            return _to_login()
        if not ctx.may("sender"):
            raise _forbidden("sender")
        try:
            await action(ctx.caller())
        except AppError as exc:
            if exc.status_code >= 500 or exc.code == "not_found":
                raise
            message = i18n.translate(exc.fields[0] if exc.fields else exc)
            return await self._detail(ctx, envelope_id, settings, **{error_key: message})
        return await self._detail(ctx, envelope_id, settings, notice=notice)

    @post(urls.ENVELOPE_VOID, status_code=200)
    async def void(
        self,
        envelope_id: uuid.UUID,
        request: Request[Any, Any, Any],
        data: FormBody,
        settings: Settings,
    ) -> Template | Redirect:
        reason = data.get("reason", "")
        return await self._sender_action(
            request,
            envelope_id,
            settings,
            lambda caller: lifecycle.void(caller, envelope_id, reason, settings),
            notice=N_("合同已撤销，签署链接已失效。"),
            error_key="void_error",
        )

    @post(urls.ENVELOPE_REMIND, status_code=200)
    async def remind(
        self,
        envelope_id: uuid.UUID,
        signer_id: uuid.UUID,
        request: Request[Any, Any, Any],
        settings: Settings,
    ) -> Template | Redirect:
        return await self._sender_action(
            request,
            envelope_id,
            settings,
            lambda caller: lifecycle.remind(caller, envelope_id, signer_id, settings),
            notice=N_("已重新发送签署短信。"),
            error_key="remind_error",
        )

    # ---------------------------------------------------------------- stamping

    async def _stamps(self, ctx: MemberContext, settings: Settings, **extra: Any) -> Template:
        return Template(
            "pages/dealer/stamps.html",
            context={
                "me": ctx,
                "rows": await stamping.pending(ctx.organisation_id, settings.stamp_batch_max),
                "seals": await stamping.seals_for(ctx),
                "limit": settings.stamp_batch_max,
                **extra,
            },
        )

    @get(urls.STAMPS)
    async def stamps(
        self, request: Request[Any, Any, Any], settings: Settings
    ) -> Template | Redirect:
        ctx = await _member(request)
        if ctx is None:
            return _to_login()
        return await self._stamps(ctx, settings)

    @post(urls.STAMPS_CODE, status_code=200)
    async def stamp_code(
        self, request: Request[Any, Any, Any], data: MultiFormBody, settings: Settings
    ) -> Template | Redirect:
        ctx = await _member(request)
        if ctx is None:
            return _to_login()
        if not ctx.may("stamper"):
            raise _forbidden("stamper")
        chosen = _chosen(data)
        try:
            await members.send_stamp_code(ctx, len(chosen), settings, request.app.state.sms)
            return await self._stamps(ctx, settings, code_sent=True, chosen=chosen)
        except AppError as exc:
            message = i18n.translate(exc.fields[0] if exc.fields else exc)
            return await self._stamps(ctx, settings, error=message, chosen=chosen)

    @post(urls.STAMPS, status_code=200)
    async def stamp(
        self, request: Request[Any, Any, Any], data: MultiFormBody, settings: Settings
    ) -> Template | Redirect:
        ctx = await _member(request)
        if ctx is None:
            return _to_login()
        chosen = _chosen(data)
        try:
            result = await stamping.stamp_batch(
                ctx,
                uuid.UUID(str(data.get("seal", ""))),
                [uuid.UUID(c) for c in chosen],
                str(data.get("code", "")),
                settings,
                request.app.state.ca,
            )
        except (AppError, ValueError) as exc:
            if isinstance(exc, AppError):
                message = i18n.translate(exc.fields[0] if exc.fields else exc)
            else:
                message = i18n.translate(N_("请选择印章和合同。"))
            return await self._stamps(ctx, settings, error=message, code_sent=True, chosen=chosen)
        return await self._stamps(ctx, settings, result=result)


def _chosen(data: dict[str, Any]) -> list[str]:
    raw = data.get("envelope", [])
    return [raw] if isinstance(raw, str) else [str(v) for v in raw]


class SharePages(Controller):
    """The page a shared link opens: a WeChat share card (og: tags) and the way in."""

    include_in_schema = False

    @get(urls.SHARE)
    async def share(
        self, token: str, request: Request[Any, Any, Any], settings: Settings
    ) -> Template:
        ctx = await envelopes.resolve_link(token)
        if ctx is None:
            raise AppError("link_invalid", "链接无效或已过期", "This link is invalid.", 404)
        card = services.share_card(settings, token, ctx.envelope, ctx.signer, ctx.sender)
        wechat: JsSdk | None = request.app.state.get("wechat")
        # WeChat signs the address the browser shows (its own ?from=... included), which
        # behind a proxy is the public URL, not the one this process was asked for.
        query = request.scope.get("query_string", b"").decode("latin-1")
        page_url = f"{settings.public_url}{request.url.path}" + (f"?{query}" if query else "")
        wx = await wechat.share_config(page_url) if wechat is not None else None
        return Template(
            "pages/dealer/share.html",
            context={
                "ctx": ctx,
                "env": ctx.envelope,
                "signer": ctx.signer,
                "token": token,
                "title": card["title"],
                "description": card["desc"],
                "image": card["imgUrl"],
                "url": card["link"],
                "wx_share": {"config": wx.wx_config(), "share": card} if wx else None,
            },
        )

    @get(urls.SHARE_THUMB, media_type="image/jpeg")
    async def thumbnail(self, token: str) -> Response[bytes]:
        ctx = await envelopes.resolve_link(token)
        if ctx is None:
            raise AppError("link_invalid", "链接无效或已过期", "This link is invalid.", 404)
        # Keyed apart from the reading pages' images, which are looked up by document hash.
        sha = sha256_hex(f"thumbnail:{THUMB_WIDTH}:{ctx.envelope.current_sha256}")
        page = await envelopes.rendered_page(
            ctx.envelope.id, sha, 0, width=THUMB_WIDTH, format="jpeg"
        )
        return Response(
            content=services.square_thumbnail(page),
            media_type="image/jpeg",
            headers={"Cache-Control": "private, max-age=3600"},
        )
