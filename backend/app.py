"""create_app(): the one place where plugins, routes, stores and handlers are wired."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend import signing
from backend.config import ROOT, Settings, get_settings
from backend.database import prepare_sqlite
from backend.envelopes.controllers import EnvelopeApi, SignerPages
from backend.envelopes.services import register_jobs
from backend.errors import AppError, FieldProblem, validation_error
from backend.jobs.services import worker_loop
from backend.logging_setup import configure_logging, request_id_var
from backend.notify.messages import CHINA
from backend.notify.sms import get_sms_provider
from backend.orgs.services import Caller, authenticate

logger = logging.getLogger("signlink.http")
PWA = ROOT / "pwa"
# Signing links are bearer secrets: never write them to a log line.
_SECRET_PATH = re.compile(r"^/s/[^/]+")


class RequestContextMiddleware:
    """Gives each request an id (X-Request-ID in and out) and logs it without secrets."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode()[:64]
        rid = incoming if re.fullmatch(r"[A-Za-z0-9._-]{6,64}", incoming) else uuid.uuid4().hex[:16]
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
    return Template(name, context={"error": err}, status_code=err.status_code)


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
    request_max_body_size=64 * 1024,
    status_code=200,
)
async def time_stamp(request: Request[Any, Any, Any]) -> Response[bytes]:
    """A timestamp query (application/timestamp-query) in, a reply out; errors are replies."""
    ca: signing.CertificateAuthority = request.app.state.ca
    reply = await asyncio.to_thread(ca.tsa.respond, await request.body())
    return Response(content=reply, media_type="application/timestamp-reply")


@get("/", include_in_schema=False)
async def home() -> Template:
    return Template("pages/home.html")


def _htmx_script() -> str:
    found = sorted((PWA / "static" / "vendor").glob("htmx-*.min.js"))
    return f"/static/vendor/{found[-1].name}" if found else ""


def _china_time(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(CHINA).strftime(fmt) if value else ""


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await prepare_sqlite()
        app.state.ca = await asyncio.to_thread(
            signing.CertificateAuthority.load_or_create,
            settings.pki_dir,
            settings.master_key_bytes(),
        )
        app.state.sms = get_sms_provider(settings)
        register_jobs(settings, app.state.sms)
        worker = asyncio.create_task(worker_loop()) if settings.run_worker else None
        try:
            yield
        finally:
            if worker is not None:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker

    def engine_callback(engine: JinjaTemplateEngine) -> None:
        env = engine.engine
        env.globals["htmx_src"] = _htmx_script()
        env.filters["china_time"] = _china_time

    return Litestar(
        route_handlers=[
            healthz,
            root_pem,
            time_stamp,
            home,
            EnvelopeApi,
            SignerPages,
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
        middleware=[RequestContextMiddleware],
        lifespan=[lifespan],
        request_max_body_size=2_000_000,
        debug=False,
    )
