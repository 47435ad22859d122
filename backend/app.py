"""create_app(): the one place where plugins, routes, stores and handlers are wired."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import logging
import os
import re
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote

from jinja2 import pass_context
from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import Cookie, State
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Reference,
    Schema,
    SecurityScheme,
)
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from markupsafe import Markup

from backend import i18n, pwa, signing, storage
from backend.config import ROOT, Settings, get_settings
from backend.database import close_connections, open_connections
from backend.dealer.controllers import DealerPages, SharePages
from backend.envelopes import completion, lifecycle, milestones
from backend.envelopes.batch_controllers import BatchSigningPages
from backend.envelopes.controllers import EnvelopeApi, SignerPages
from backend.envelopes.flow_controllers import DeclinePages, EnvelopeFlowApi, SealApi
from backend.envelopes.services import PAGE_WIDTHS, register_jobs
from backend.errors import AppError, FieldProblem, validation_error
from backend.evidence import services as evidence
from backend.evidence.controllers import EvidenceApi
from backend.http_metrics import RequestMetricsMiddleware
from backend.idempotency.middleware import IdempotencyMiddleware
from backend.identity.controllers import IdentityPages, IdentityReviewApi, ReviewerPages
from backend.identity.face_step import FaceStepPages
from backend.jobs.services import worker_loop
from backend.logging_setup import configure_logging, request_id_var
from backend.metrics import InstrumentedSms
from backend.notify.messages import CHINA
from backend.notify.sms import SmsProvider, get_sms_provider
from backend.nul_guard import NulGuardMiddleware
from backend.operations import metrics, readyz
from backend.orgs.controllers import ApiKeyApi, MemberApi
from backend.orgs.services import Caller, authenticate
from backend.pki import load_ca
from backend.verify.controllers import VerifyController
from backend.webhooks import services as webhooks
from backend.webhooks.controllers import WebhookApi
from backend.wechat import JsSdk

logger = logging.getLogger("signlink.http")
PWA = ROOT / "pwa"
# Signing links are bearer secrets: never write them to a log line.
_SECRET_PATH = re.compile(r"^/s/[^/]+")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{6,64}")


class RequestContextMiddleware:
    """Gives each request an id (X-Request-ID in and out) and logs it without secrets."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        incoming_id = incoming.decode("latin-1")[:64]
        rid = incoming_id if _REQUEST_ID.fullmatch(incoming_id) else os.urandom(8).hex()
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            logger.info(
                "request",
                extra={
                    "fields": {
                        "method": scope.get("method"),
                        "path": _SECRET_PATH.sub("/s/***", scope.get("path", "")),
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                    }
                },
            )
            request_id_var.reset(token)


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.startswith("/pki/")


def _error_response(request: Request[Any, Any, Any], err: AppError) -> Response[Any]:
    if _wants_json(request):
        return Response(
            content=err.to_json(), status_code=err.status_code, media_type=MediaType.JSON
        )
    name = (
        "pages/errors/link_invalid.html"
        if err.code == "link_invalid"
        else "pages/errors/error.html"
    )
    # unknown paths are answered before any middleware ran: negotiate here as well
    lang = i18n.use(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))
    message = err.message_en if lang == "en" else err.message
    return Template(name, context={"error": err, "message": message}, status_code=err.status_code)


def handle_app_error(request: Request[Any, Any, Any], exc: AppError) -> Response[Any]:
    return _error_response(request, exc)


def handle_validation(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Malformed or mistyped request bodies: 400 with one entry per field."""
    problems = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            key = str(item.get("key") or "body")
            problems.append(
                FieldProblem(
                    key,
                    "字段缺失、类型或格式不正确，请对照 API 文档修改。",
                    str(item.get("message", "invalid value")),
                )
            )
    if not problems:
        problems.append(
            FieldProblem(
                "body",
                "请求体不是有效的 JSON，或与接口要求的结构不符。",
                (exc.detail or "Malformed request body."),
            )
        )
    return _error_response(request, validation_error(problems))


_STATUS_TEXT = {
    401: (
        "unauthorized",
        "缺少或无效的 API 密钥（Authorization: Bearer <key>）。",
        "Missing or invalid API key.",
    ),
    403: ("forbidden", "没有权限执行此操作。", "Not allowed."),
    404: ("not_found", "页面不存在。", "Not found."),
    405: ("method_not_allowed", "不支持该请求方法。", "Method not allowed."),
    413: ("too_large", "提交的内容过大。", "Request body too large."),
    429: ("too_many_requests", "请求过于频繁，请稍后再试。", "Too many requests."),
}


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code == 400:
        return handle_validation(request, exc)
    code, zh, en = _STATUS_TEXT.get(
        exc.status_code, ("bad_request", "请求无效，请检查后重试。", exc.detail or "Bad request.")
    )
    status = exc.status_code if exc.status_code < 500 else 503
    return _error_response(request, AppError(code, zh, en, status))


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.exception("unhandled error", exc_info=exc)
    err = AppError(
        "temporarily_unavailable",
        "服务暂时繁忙，请稍后重试。",
        "The service is busy; please try again shortly.",
        503,
    )
    return _error_response(request, err)


async def provide_settings() -> Settings:
    return get_settings()


async def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    caller = await authenticate(key.strip()) if scheme.lower() == "bearer" else None
    if caller is None:
        raise AppError(
            "unauthorized",
            "缺少或无效的 API 密钥，请在请求头中携带 Authorization: Bearer <API 密钥>。",
            "Missing or invalid API key: send Authorization: Bearer <key>.",
            401,
        )
    return caller


@get("/healthz", include_in_schema=False, cache=False)
async def healthz() -> dict[str, str]:
    from backend.orgs.tables import Organisation

    await Organisation.count()
    return {"status": "ok"}


@get("/pki/root.pem", media_type="application/x-pem-file", summary="The root CA certificate")
async def root_pem(request: Request[Any, Any, Any]) -> bytes:
    ca: signing.CertificateAuthority = request.app.state.ca
    return ca.root_pem()


@post(
    "/pki/tsa",
    summary="RFC 3161 time-stamping service",
    media_type="application/timestamp-reply",
    request_max_body_size=64 * 1024,
    status_code=200,
)
async def time_stamp(request: Request[Any, Any, Any]) -> Response[bytes]:
    """A timestamp query (application/timestamp-query) in, a reply out; errors are replies."""
    ca: signing.CertificateAuthority = request.app.state.ca
    reply = await asyncio.to_thread(ca.tsa.respond, await request.body())
    return Response(content=reply, media_type="application/timestamp-reply")


@get("/pki/crl", media_type="application/pkix-crl", summary="CRL of the issuing CA (DER)")
async def revocation_list(request: Request[Any, Any, Any]) -> bytes:
    ca: signing.CertificateAuthority = request.app.state.ca
    return await asyncio.to_thread(ca.crl_der)


@get("/pki/root.crl", media_type="application/pkix-crl", summary="CRL of the root CA (DER)")
async def root_revocation_list(request: Request[Any, Any, Any]) -> bytes:
    ca: signing.CertificateAuthority = request.app.state.ca
    return await asyncio.to_thread(ca.root_crl_der)


@get("/pki/issuing.cer", media_type="application/pkix-cert", summary="Issuing CA certificate")
async def issuing_certificate(request: Request[Any, Any, Any]) -> bytes:
    ca: signing.CertificateAuthority = request.app.state.ca
    return ca.issuing_der()


@get("/pki/root.cer", media_type="application/pkix-cert", summary="Root CA certificate (DER)")
async def root_certificate(request: Request[Any, Any, Any]) -> bytes:
    ca: signing.CertificateAuthority = request.app.state.ca
    return ca.root_der()


@post(
    "/pki/ocsp",
    summary="OCSP responder (RFC 6960)",
    media_type=signing.OCSP_RESPONSE_CONTENT_TYPE,
    request_max_body_size=16 * 1024,
    status_code=200,
)
async def ocsp_post(request: Request[Any, Any, Any]) -> Response[bytes]:
    """An application/ocsp-request in, an application/ocsp-response out; errors are replies."""
    ca: signing.CertificateAuthority = request.app.state.ca
    reply = await asyncio.to_thread(ca.ocsp_response, await request.body())
    return Response(content=reply, media_type=signing.OCSP_RESPONSE_CONTENT_TYPE)


_OCSP_GET_PREFIX = "/pki/ocsp/"


@get(
    "/pki/ocsp/{encoded:path}",
    summary="OCSP responder, GET form (RFC 6960 A.1)",
    media_type=signing.OCSP_RESPONSE_CONTENT_TYPE,
)
async def ocsp_get(request: Request[Any, Any, Any], encoded: str) -> Response[bytes]:
    ca: signing.CertificateAuthority = request.app.state.ca
    # The request as sent: the routed path has "//" squeezed to "/", and base64 can hold
    # "//" (plain or as %2F%2F), which then no longer decodes to the client's request.
    raw = request.scope.get("raw_path", b"").decode("latin-1")
    _, found, sent = raw.partition(_OCSP_GET_PREFIX)
    try:
        der = base64.b64decode(unquote(sent if found else encoded.lstrip("/")))
    except ValueError:
        der = b""
    reply = await asyncio.to_thread(ca.ocsp_response, der)
    return Response(content=reply, media_type=signing.OCSP_RESPONSE_CONTENT_TYPE)


@get("/", include_in_schema=False)
async def home() -> Template:
    return Template("pages/home.html")


@get("/sw.js", include_in_schema=False)
async def service_worker(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The service worker, at the root so that its scope is the whole site."""
    shell: pwa.ServiceWorker = request.app.state.shell
    return Response(
        content=shell.script,
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"},
    )


@get("/offline", include_in_schema=False)
async def offline() -> Template:
    """What the service worker shows for a page it cannot fetch."""
    return Template("pages/offline.html")


@post("/lang", include_in_schema=False, status_code=303)
async def switch_language(
    request: Request[Any, Any, Any],
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    settings: Settings,
) -> Redirect:
    """The header's language switch: remember the choice, go back to the same page."""
    back = data.get("next") or pwa.referer_path(
        request.headers.get("referer"), request.headers.get("host")
    )
    response = Redirect(path=pwa.safe_next(back), status_code=303)
    lang = data.get("lang", "")
    if lang in i18n.LANGUAGES:
        response.set_cookie(
            Cookie(
                key=i18n.COOKIE,
                value=lang,
                path="/",
                max_age=365 * 24 * 3600,
                samesite="lax",
                httponly=True,
                secure=settings.secure_cookies,
            )
        )
    return response


def _htmx_script() -> str:
    found = sorted((PWA / "static" / "vendor").glob("htmx-*.min.js"))
    return f"/static/vendor/{found[-1].name}" if found else ""


@pass_context
def _page_gettext(context: Any, message: str, **variables: Any) -> str:
    """Jinja's new-style ``_()``/``gettext`` without its two wrapper layers (about 10 %
    of a signer page): same result, and ``%`` formatting only when there is a ``%``."""
    text = i18n.gettext(message)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    return text % variables if variables or "%" in text else text


def _china_time(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(CHINA).strftime(fmt) if value else ""


def register_background_work(settings: Settings) -> SmsProvider:
    """Job handlers and audit listeners: the same in the web process and in a worker."""
    sms = InstrumentedSms(get_sms_provider(settings))
    register_jobs(settings, sms)
    lifecycle.register_jobs(settings, sms)
    evidence.register_jobs(settings)
    completion.register_jobs(settings)
    webhooks.register(settings)
    return sms


def _text(description: str = "") -> Schema:
    return Schema(type=OpenAPIType.STRING, description=description or None)


ERROR_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["error"],
    properties={
        "error": Schema(
            type=OpenAPIType.OBJECT,
            required=["code", "message", "message_en"],
            properties={
                "code": _text("Stable, machine-readable code, e.g. validation_failed"),
                "message": _text("For people, in Chinese"),
                "message_en": _text("For people, in English"),
                "fields": Schema(
                    type=OpenAPIType.ARRAY,
                    items=Schema(
                        type=OpenAPIType.OBJECT,
                        required=["path", "message", "message_en"],
                        properties={
                            "path": _text(),
                            "message": _text(),
                            "message_en": _text(),
                        },
                    ),
                ),
            },
        )
    },
    description="The one error shape of the API (backend.errors.AppError).",
)


def document_errors(app: Litestar) -> None:
    """Document the error body the API really sends (``AppError.to_json()``) instead of
    Litestar's default ``{status_code, detail, extra}`` for its generated 400 responses."""
    openapi = app.openapi_schema
    if openapi.components.schemas is None:
        openapi.components.schemas = {}
    openapi.components.schemas["Error"] = ERROR_SCHEMA
    for item in (openapi.paths or {}).values():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(item, method, None)
            if operation is None or not operation.responses or "400" not in operation.responses:
                continue
            operation.responses["400"] = OpenAPIResponse(
                description="The request is invalid; `error.fields` says which field and why.",
                content={
                    "application/json": OpenAPIMediaType(
                        schema=Reference(ref="#/components/schemas/Error")
                    )
                },
            )


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    storage.configure(settings)  # where document and image bytes live
    i18n.load_catalogues(PWA / "locale")

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await open_connections()  # SQLite in WAL mode
        if settings.face_fixed_challenge:
            logger.warning(
                "SIGNLINK_FACE_FIXED_CHALLENGE is set: every face check asks for the same "
                "actions, so recorded footage can pass. Tests only; unset it in production."
            )
        app.state.ca = await load_ca(settings)
        app.state.sms = register_background_work(settings)
        lease = timedelta(seconds=settings.job_lease_seconds)
        worker = asyncio.create_task(worker_loop(lease=lease)) if settings.run_worker else None
        # Everything loaded so far (PDF, imaging and crypto libraries, templates) lives as
        # long as the process: keep it out of the collector's full passes, which otherwise
        # walk it all and stall every request in flight (the landing page's p99).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if worker is not None:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            await close_connections()

    def engine_callback(engine: JinjaTemplateEngine) -> None:
        env = engine.engine
        # Compiled templates are kept; no stat() of every extended or included file on
        # each render (about 8 % of the signer page). Restart to pick up template edits.
        env.auto_reload = False
        env.globals["htmx_src"] = _htmx_script()
        env.filters["china_time"] = _china_time
        env.add_extension("jinja2.ext.i18n")
        env.install_gettext_callables(  # type: ignore[attr-defined]
            i18n.gettext, i18n.ngettext, newstyle=True
        )
        env.globals["gettext"] = env.globals["_"] = _page_gettext
        env.filters["translate"] = i18n.translate
        env.globals["page_widths"] = PAGE_WIDTHS
        env.globals["current_lang"] = i18n.current
        env.globals["role_label"] = i18n.role_label
        env.globals["in_app_browser"] = pwa.in_app_browser
        env.globals["return_path"] = pwa.return_path
        env.globals["milestone_history"] = milestones.for_page

    app = Litestar(
        route_handlers=[
            healthz,
            readyz,
            metrics,
            root_pem,
            time_stamp,
            revocation_list,
            root_revocation_list,
            issuing_certificate,
            root_certificate,
            ocsp_post,
            ocsp_get,
            VerifyController,
            home,
            offline,
            service_worker,
            switch_language,
            EnvelopeApi,
            EnvelopeFlowApi,
            DeclinePages,
            DealerPages,
            SharePages,
            MemberApi,
            SealApi,
            EvidenceApi,
            WebhookApi,
            ApiKeyApi,
            SignerPages,
            BatchSigningPages,
            FaceStepPages,
            IdentityPages,
            IdentityReviewApi,
            ReviewerPages,
            create_static_files_router(path="/static", directories=[PWA / "static"]),
        ],
        dependencies={
            "settings": Provide(provide_settings),
            "caller": Provide(provide_caller),
        },
        exception_handlers={
            AppError: handle_app_error,
            ValidationException: handle_validation,
            HTTPException: handle_http,
            Exception: handle_unexpected,
        },
        template_config=TemplateConfig(
            directory=Path(PWA / "templates"),
            engine=JinjaTemplateEngine,
            engine_callback=engine_callback,
        ),
        openapi_config=OpenAPIConfig(
            title="SignLink API",
            version="1.0.0",
            path="/api/docs",
            render_plugins=[SwaggerRenderPlugin()],
            components=Components(
                security_schemes={"BearerAuth": SecurityScheme(type="http", scheme="bearer")}
            ),
        ),
        middleware=[
            RequestContextMiddleware,
            i18n.LocaleMiddleware,
            RequestMetricsMiddleware,
            NulGuardMiddleware,
            IdempotencyMiddleware,
        ],
        lifespan=[lifespan],
        # Logging is configure_logging()'s (JSON lines with the request id, written where
        # they happen); Litestar's default would replace it with its own queue handler.
        logging_config=None,
        state=State(
            {
                "shell": pwa.ServiceWorker.from_dir(PWA),
                # the share page's WeChat JS-SDK configuration; None without an Official Account
                "wechat": JsSdk.from_settings(settings),
            }
        ),
        request_max_body_size=2_000_000,
        debug=False,
    )
    document_errors(app)
    return app
