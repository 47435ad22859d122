"""HTTP for real-name identity: the signer's pages, the reviewers' queue and its API."""

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
from backend.orgs import members
from backend.orgs.members import MemberContext
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


async def _with_paid_claim(
    token: str, method: str
) -> tuple[SignerContext, verification.Claim] | Redirect:
    if method not in verification.PAID_METHODS:
        raise AppError("not_found", "页面不存在。", "No such page.", 404)
    return await _with_claim(token, method)


def _method_page(
    ctx: SignerContext,
    claim: verification.Claim,
    method: str,
    factors: verification.Factors,
    status: int = 200,
    **extra: Any,
) -> Template:
    """The form of a paid method; ``pages/identity/phone3.html`` or ``bank4.html``."""
    return Template(
        f"pages/identity/{method}.html",
        context=_vars(
            ctx, claim=claim, card=factors.card, mobile=factors.mobile, errors={}, **extra
        ),
        status_code=status,
    )


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

    # ---------------------------------------------------------- phone 3-factor, bank-card 4-factor

    @get(urls.IDENTITY_METHOD)
    async def method_form(self, token: str, method: str) -> Template | Redirect:
        found = await _with_paid_claim(token, method)
        if isinstance(found, Redirect):
            return found
        return _method_page(*found, method, verification.Factors())

    @post(urls.IDENTITY_METHOD_CODE, status_code=200)
    async def method_code(
        self,
        token: str,
        method: str,
        request: Request[Any, Any, Any],
        data: FormBody,
        settings: Settings,
    ) -> Template | Redirect:
        found = await _with_paid_claim(token, method)
        if isinstance(found, Redirect):
            return found
        ctx, claim = found
        factors = verification.Factors.from_form(data)
        sent = await verification.send_method_code(
            ctx, method, factors, settings, request.app.state.sms, _ip(request)
        )
        extra: dict[str, Any] = {
            "code_sent": sent.ok,
            "code_error": sent.message,
            "resend_after": sent.retry_after,
        }
        if _is_htmx(request):
            return Template(
                "pages/identity/partials/code.html", context=_vars(ctx, method=method, **extra)
            )
        status = 200 if sent.ok else 429 if sent.retry_after else 400
        return _method_page(ctx, claim, method, factors, status, **extra)

    @post(urls.IDENTITY_METHOD, status_code=200)
    async def method_verify(
        self,
        token: str,
        method: str,
        request: Request[Any, Any, Any],
        data: FormBody,
        settings: Settings,
    ) -> Response[Any] | Template:
        found = await _with_paid_claim(token, method)
        if isinstance(found, Redirect):
            return found
        ctx, claim = found
        factors = verification.Factors.from_form(data)
        attempt = await verification.verify(
            ctx,
            method,
            factors,
            data.get("code", ""),
            identity_provider(request),
            settings,
            _ip(request),
        )
        if attempt.passed:
            return _go(request, f"/s/{token}")
        if attempt.is_result:
            return self._result(ctx, method, attempt)
        return _method_page(
            ctx,
            claim,
            method,
            factors,
            400,
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
    async def manual(self, token: str, request: Request[Any, Any, Any]) -> Template | Response[Any]:
        ctx = await signer_context(token)
        if ctx.signer.status == "signed" or not ctx.needs_identity:
            return _go(request, f"/s/{token}")
        claim = await verification.load_claim(ctx.signer.id)
        if claim is None:
            return _go(request, urls.page(token))
        latest = await review.latest_review(ctx.signer.id)
        if _is_htmx(request):
            # The waiting page polls: nothing to swap until the reviewer has decided.
            if latest is not None and latest.status == "pending":
                return Response(content=b"", status_code=204)
            return _go(request, urls.page(token, "/manual"))
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
    """The organisation's review queue for business systems (members use /app/reviews)."""

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
        return await review.list_reviews(caller.organisation_id, status)

    @get(urls.API_REVIEW_IMAGE, summary="A review photo (kind: front or holding)")
    async def image(self, review_id: uuid.UUID, kind: str, caller: Caller) -> Response[bytes]:
        return _photo(await review.review_image(caller.organisation_id, review_id, kind))

    @post(urls.API_REVIEW_APPROVE, status_code=200, summary="Approve: the signer may sign")
    async def approve(self, review_id: uuid.UUID, caller: Caller) -> ReviewOut:
        reviewer = review.Reviewer.from_key(caller)
        return await review.decide(reviewer, review_id, approve=True, reason="")

    @post(urls.API_REVIEW_REJECT, status_code=200, summary="Reject with a reason the signer sees")
    async def reject(self, review_id: uuid.UUID, data: RejectIn, caller: Caller) -> ReviewOut:
        reviewer = review.Reviewer.from_key(caller)
        return await review.decide(reviewer, review_id, approve=False, reason=data.reason)


def _photo(photo: review.Photo) -> Response[bytes]:
    """An ID photo: to this request only, never into a browser, proxy or service-worker cache."""
    return Response(
        content=photo.data,
        media_type=photo.content_type,
        headers={
            "Cache-Control": "no-store, private",
            "Pragma": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": "inline",
        },
    )


# ------------------------------------------------------------------ the reviewer's phone pages


async def _verifier(request: Request[Any, Any, Any]) -> MemberContext | Redirect:
    """The logged-in member allowed to review identities; else to the login page / 403."""
    member = await members.from_session(request.cookies.get(members.SESSION_COOKIE))
    if member is None:
        return Redirect(path=urls.APP_LOGIN, status_code=303)
    if not member.may(review.REVIEWER_ROLE):
        label = members.ROLE_LABELS[review.REVIEWER_ROLE]
        raise AppError(
            "forbidden",
            f"需要“{label}”或“管理员”角色才能处理实名审核。",
            "Reviewing identities needs the verifier or admin role.",
            403,
        )
    return member


_DECIDED = {
    "approved": N_("已通过，签署人将收到短信并继续签署。"),
    "rejected": N_("已驳回，签署人将收到短信并可重新提交。"),
}


class ReviewerPages(Controller):
    """The organisation's manual-review queue on the phone (/app/reviews), for verifiers."""

    include_in_schema = False

    async def _queue(self, member: MemberContext, **extra: Any) -> Template:
        pending = await review.list_reviews(member.organisation_id, "pending")
        return Template(
            "pages/identity/reviews.html",
            context={
                "me": member,
                "pending": pending,
                "decided": await review.recently_decided(member.organisation_id),
                "waited": {r.id: review.waiting_since(r.created_at) for r in pending},
                "wait": review.EXPECTED_WAIT,
                "overdue_after": review.OVERDUE_MINUTES,
                "id_types": checks.ID_TYPES,
                **extra,
            },
            headers={"Cache-Control": "no-store"},
        )

    async def _detail(
        self, member: MemberContext, review_id: uuid.UUID, status: int = 200, **extra: Any
    ) -> Template:
        shown = await review.get_review(member.organisation_id, review_id)
        return Template(
            "pages/identity/review.html",
            context={
                "me": member,
                "review": shown,
                "waited": review.waiting_since(shown.created_at),
                "wait": review.EXPECTED_WAIT,
                "reasons": review.COMMON_REASONS,
                "image_url": lambda kind: urls.app_review(shown.id, f"/images/{kind}"),
                **extra,
            },
            status_code=status,
            headers={"Cache-Control": "no-store"},
        )

    @get(urls.APP_REVIEWS)
    async def queue(self, request: Request[Any, Any, Any], done: str = "") -> Template | Redirect:
        member = await _verifier(request)
        if isinstance(member, Redirect):
            return member
        return await self._queue(member, notice=_DECIDED.get(done, ""))

    @get(urls.APP_REVIEW)
    async def detail(
        self, review_id: uuid.UUID, request: Request[Any, Any, Any]
    ) -> Template | Redirect:
        member = await _verifier(request)
        if isinstance(member, Redirect):
            return member
        return await self._detail(member, review_id)

    @get(urls.APP_REVIEW_IMAGE)
    async def image(
        self, review_id: uuid.UUID, kind: str, request: Request[Any, Any, Any]
    ) -> Response[bytes] | Redirect:
        member = await _verifier(request)
        if isinstance(member, Redirect):
            return member
        return _photo(await review.review_image(member.organisation_id, review_id, kind))

    @post(urls.APP_REVIEW_DECIDE, status_code=200)
    async def decide(
        self, review_id: uuid.UUID, request: Request[Any, Any, Any], data: FormBody
    ) -> Response[Any] | Template:
        member = await _verifier(request)
        if isinstance(member, Redirect):
            return member
        verdict = data.get("decision", "")
        if verdict not in {"approve", "reject"}:
            return await self._detail(member, review_id, 400, error=N_("请选择通过或驳回。"))
        try:
            await review.decide(
                review.Reviewer.from_member(member),
                review_id,
                approve=verdict == "approve",
                reason=data.get("reason", ""),
            )
        except AppError as exc:
            if exc.code == "not_found":
                raise
            # htmx swaps a 422 like a 200 (app.js); other 4xx would leave the page unchanged.
            return await self._detail(
                member,
                review_id,
                422 if _is_htmx(request) else exc.status_code,
                error=exc,
                reason=data.get("reason", "")[:200],
            )
        done = "approved" if verdict == "approve" else "rejected"
        return _go(request, f"{urls.APP_REVIEWS}?done={done}")
