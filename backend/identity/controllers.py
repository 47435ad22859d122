"""HTTP for real-name identity: the signer's pages and the manual-review API."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from backend.config import Settings, get_settings
from backend.envelopes.controllers import signer_context
from backend.envelopes.services import SignerContext
from backend.errors import AppError
from backend.i18n import N_
from backend.identity import checks, review, urls, verification
from backend.identity.providers import IdentityProvider, get_identity_provider
from backend.identity.schemas import RejectIn, ReviewOut
from backend.keys import unseal
from backend.orgs.services import Caller

FormBody = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
UploadBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
# Two phone photos; identity.js shrinks them first, this is the ceiling without JS.
UPLOAD_LIMIT = 20_000_000


def identity_provider(request: Request[Any, Any, Any]) -> IdentityProvider:
    """One provider per app, built from settings on first use (tests may set their own)."""
    state = request.app.state
    provider = getattr(state, "identity_provider", None)
    if provider is None:
        provider = get_identity_provider(get_settings())
        state.identity_provider = provider
    return provider  # type: ignore[no-any-return]


def _ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""


def _is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def _go(request: Request[Any, Any, Any], url: str) -> Response[Any]:
    if _is_htmx(request):
        return Response(content="", status_code=200, headers={"HX-Redirect": url})
    return Redirect(path=url, status_code=303)


def _vars(ctx: SignerContext, **extra: Any) -> dict[str, Any]:
    return {
        "ctx": ctx,
        "env": ctx.envelope,
        "signer": ctx.signer,
        "token": ctx.token,
        "id_types": checks.ID_TYPES,
        "labels": verification.METHOD_LABELS,
        **extra,
    }


async def _open(token: str) -> SignerContext | Redirect:
    """The signer, when identity is still to be proven now; else back to the read page."""
    ctx = await signer_context(token)
    if ctx.signer.status == "signed":
        return Redirect(path=f"/s/{token}/done")
    if not ctx.needs_identity or not ctx.is_turn:
        return Redirect(path=f"/s/{token}")
    return ctx


async def _with_claim(
    token: str, method: str
) -> tuple[SignerContext, verification.Claim] | Redirect:
    ctx = await _open(token)
    if isinstance(ctx, Redirect):
        return ctx
    claim = await verification.load_claim(ctx.signer.id)
    if claim is None:
        return Redirect(path=urls.page(token))
    if method not in verification.methods_for(ctx.signer.identity_level, claim.id_type):
        return Redirect(path=urls.page(token, "/methods"))
    return ctx, claim


class IdentityPages(Controller):
    include_in_schema = False

    # ---------------------------------------------------------- step 1

    @get(urls.IDENTITY)
    async def start(self, token: str) -> Template | Redirect:
        ctx = await _open(token)
        if isinstance(ctx, Redirect):
            return ctx
        claim = await verification.load_claim(ctx.signer.id)
        return Template(
            "pages/identity/start.html",
            context=_vars(ctx, id_type=claim.id_type if claim else "id_card", errors={}),
        )

    @post(urls.IDENTITY, status_code=200)
    async def submit_claim(
        self, token: str, request: Request[Any, Any, Any], data: FormBody, settings: Settings
    ) -> Response[Any] | Template:
        ctx = await _open(token)
        if isinstance(ctx, Redirect):
            return ctx
        id_type = data.get("id_type", "id_card")
        try:
            reused = await verification.save_claim(
                ctx,
                name=data.get("name", ""),
                id_type=id_type,
                id_number=data.get("id_number", ""),
                settings=settings,
            )
        except verification.InvalidInput as exc:
            return Template(
                "pages/identity/start.html",
                context=_vars(
                    ctx,
                    id_type=id_type,
                    id_number=data.get("id_number", "")[:40],
                    errors={p.field: p.message for p in exc.problems},
                ),
                status_code=400,
            )
        if reused:
            return _go(request, f"/s/{token}")
        if id_type != "id_card":
            return _go(request, urls.page(token, "/manual"))
        return _go(request, urls.page(token, "/methods"))

    # ---------------------------------------------------------- step 2

    @get(urls.IDENTITY_METHODS)
    async def methods(self, token: str) -> Template | Redirect:
        ctx = await _open(token)
        if isinstance(ctx, Redirect):
            return ctx
        claim = await verification.load_claim(ctx.signer.id)
        if claim is None:
            return Redirect(path=urls.page(token))
        return Template(
            "pages/identity/methods.html",
            context=_vars(
                ctx,
                claim=claim,
                methods=verification.methods_for(ctx.signer.identity_level, claim.id_type),
                face_url=urls.face(token),
            ),
        )

    # ---------------------------------------------------------- phone 3-factor

    def _phone3(
        self, ctx: SignerContext, claim: verification.Claim, status: int = 200, **extra: Any
    ) -> Template:
        return Template(
            "pages/identity/phone3.html",
            context=_vars(ctx, claim=claim, **extra),
            status_code=status,
        )

    @get(urls.IDENTITY_PHONE3)
    async def phone3(self, token: str) -> Template | Redirect:
        found = await _with_claim(token, "phone3")
        if isinstance(found, Redirect):
            return found
        return self._phone3(*found)

    @post(urls.IDENTITY_PHONE3_CODE, status_code=200)
    async def phone3_code(
        self, token: str, request: Request[Any, Any, Any], settings: Settings
    ) -> Template | Redirect:
        found = await _with_claim(token, "phone3")
        if isinstance(found, Redirect):
            return found
        ctx, claim = found
        sent = await verification.send_code(
            ctx,
            "phone3",
            unseal(ctx.signer.phone_sealed),
            settings,
            request.app.state.sms,
            _ip(request),
        )
        extra: dict[str, Any] = {
            "code_sent": sent.ok,
            "code_error": sent.message,
            "resend_after": sent.retry_after,
        }
        if _is_htmx(request):
            return Template(
                "pages/identity/partials/code.html", context=_vars(ctx, method="phone3", **extra)
            )
        return self._phone3(ctx, claim, 200 if sent.ok else 429, **extra)

    @post(urls.IDENTITY_PHONE3, status_code=200)
    async def phone3_verify(
        self, token: str, request: Request[Any, Any, Any], data: FormBody, settings: Settings
    ) -> Response[Any] | Template:
        found = await _with_claim(token, "phone3")
        if isinstance(found, Redirect):
            return found
        ctx, claim = found
        attempt = await verification.verify_phone3(
            ctx, data.get("code", ""), identity_provider(request), settings, _ip(request)
        )
        if attempt.passed:
            return _go(request, f"/s/{token}")
        if attempt.is_result:
            return self._result(ctx, "phone3", attempt)
        return self._phone3(ctx, claim, 400, code_sent=True, code_error=attempt.message)

    # ---------------------------------------------------------- bank-card 4-factor

    def _bank4(
        self, ctx: SignerContext, claim: verification.Claim, status: int = 200, **extra: Any
    ) -> Template:
        return Template(
            "pages/identity/bank4.html",
            context=_vars(ctx, claim=claim, errors={}, **extra),
            status_code=status,
        )

    @get(urls.IDENTITY_BANK4)
    async def bank4(self, token: str) -> Template | Redirect:
        found = await _with_claim(token, "bank4")
        if isinstance(found, Redirect):
            return found
        return self._bank4(*found)

    @post(urls.IDENTITY_BANK4_CODE, status_code=200)
    async def bank4_code(
        self, token: str, request: Request[Any, Any, Any], data: FormBody, settings: Settings
    ) -> Template | Redirect:
        found = await _with_claim(token, "bank4")
        if isinstance(found, Redirect):
            return found
        ctx, claim = found
        card = checks.normalise_digits(data.get("card", ""))
        mobile = checks.normalise_digits(data.get("mobile", ""))
        problems = verification.bank4_problems(card, mobile)
        if problems:
            extra: dict[str, Any] = {"code_sent": False, "code_error": problems[0].message}
        else:
            sent = await verification.send_code(
                ctx, "bank4", mobile, settings, request.app.state.sms, _ip(request)
            )
            extra = {
                "code_sent": sent.ok,
                "code_error": sent.message,
                "resend_after": sent.retry_after,
            }
        if _is_htmx(request):
            return Template(
                "pages/identity/partials/code.html", context=_vars(ctx, method="bank4", **extra)
            )
        return self._bank4(
            ctx, claim, 200 if not extra["code_error"] else 400, card=card, mobile=mobile, **extra
        )

    @post(urls.IDENTITY_BANK4, status_code=200)
    async def bank4_verify(
        self, token: str, request: Request[Any, Any, Any], data: FormBody, settings: Settings
    ) -> Response[Any] | Template:
        found = await _with_claim(token, "bank4")
        if isinstance(found, Redirect):
            return found
        ctx, claim = found
        attempt = await verification.verify_bank4(
            ctx,
            card=data.get("card", ""),
            mobile=data.get("mobile", ""),
            code=data.get("code", ""),
            provider=identity_provider(request),
            settings=settings,
            ip=_ip(request),
        )
        if attempt.passed:
            return _go(request, f"/s/{token}")
        if attempt.is_result:
            return self._result(ctx, "bank4", attempt)
        return self._bank4(
            ctx,
            claim,
            400,
            card=checks.normalise_digits(data.get("card", ""))[:19],
            mobile=checks.normalise_digits(data.get("mobile", ""))[:11],
            code_sent=attempt.field == "code",
            code_error=attempt.message,
        )

    def _result(self, ctx: SignerContext, method: str, attempt: verification.Attempt) -> Template:
        others = [m for m in verification.ACCEPTED[ctx.signer.identity_level] if m != method]
        return Template(
            "pages/identity/result.html",
            context=_vars(
                ctx,
                method=method,
                attempt=attempt,
                others=others,
                face_url=urls.face(ctx.token),
            ),
        )

    # ---------------------------------------------------------- manual review

    @get(urls.IDENTITY_MANUAL)
    async def manual(self, token: str) -> Template | Redirect:
        ctx = await signer_context(token)
        if ctx.signer.status == "signed" or not ctx.needs_identity:
            return Redirect(path=f"/s/{token}")
        claim = await verification.load_claim(ctx.signer.id)
        if claim is None:
            return Redirect(path=urls.page(token))
        latest = await review.latest_review(ctx.signer.id)
        return Template(
            "pages/identity/manual.html",
            context=_vars(ctx, claim=claim, review=latest, wait=review.EXPECTED_WAIT),
        )

    @post(urls.IDENTITY_MANUAL, status_code=200, request_max_body_size=UPLOAD_LIMIT)
    async def manual_submit(
        self, token: str, request: Request[Any, Any, Any], data: UploadBody, settings: Settings
    ) -> Response[Any] | Template:
        found = await _with_claim(token, "manual")
        if isinstance(found, Redirect):
            return found
        ctx, claim = found
        try:
            front = review.check_photo(await _read(data.get("front")), N_("证件正面照片"), settings)
            holding = review.check_photo(
                await _read(data.get("holding")), N_("手持证件照片"), settings
            )
            await review.submit(ctx, front, holding)
        except AppError as exc:
            latest = await review.latest_review(ctx.signer.id)
            return Template(
                "pages/identity/manual.html",
                context=_vars(
                    ctx,
                    claim=claim,
                    review=latest,
                    wait=review.EXPECTED_WAIT,
                    upload_error=exc.message,
                ),
                status_code=exc.status_code,
            )
        return _go(request, urls.page(token, "/manual"))


async def _read(part: Any) -> bytes:
    if isinstance(part, UploadFile):
        return await part.read()
    return b""


class IdentityReviewApi(Controller):
    """The organisation's review queue, until reviewer pages with member login exist."""

    tags = ("identity",)
    security = ({"BearerAuth": []},)

    @get(urls.API_REVIEWS, summary="Manual identity reviews of your envelopes")
    async def list(self, caller: Caller, status: str = "pending") -> list[ReviewOut]:
        if status not in {"pending", "approved", "rejected", "all"}:
            raise AppError(
                "validation_failed",
                "status 应为 pending、approved、rejected 或 all。",
                "status must be pending, approved, rejected or all.",
            )
        return await review.list_reviews(caller, status)

    @get(urls.API_REVIEW_IMAGE, summary="A review photo (kind: front or holding)")
    async def image(self, review_id: uuid.UUID, kind: str, caller: Caller) -> Response[bytes]:
        photo = await review.review_image(caller, review_id, kind)
        return Response(
            content=photo.data,
            media_type=photo.content_type,
            headers={"Cache-Control": "no-store"},
        )

    @post(urls.API_REVIEW_APPROVE, status_code=200, summary="Approve: the signer may sign")
    async def approve(self, review_id: uuid.UUID, caller: Caller) -> ReviewOut:
        return await review.decide(caller, review_id, approve=True, reason="")

    @post(urls.API_REVIEW_REJECT, status_code=200, summary="Reject with a reason the signer sees")
    async def reject(self, review_id: uuid.UUID, data: RejectIn, caller: Caller) -> ReviewOut:
        return await review.decide(caller, review_id, approve=False, reason=data.reason)
