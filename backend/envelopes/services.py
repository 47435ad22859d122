"""Envelope rules: creation from a template, whose turn it is, reading, intent, signing."""

from __future__ import annotations

import base64
import binascii
import io
import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from PIL import Image, UnidentifiedImageError

from backend import documents, signing
from backend.config import Settings
from backend.database import transaction, utcnow
from backend.envelopes import schemas
from backend.envelopes.tables import DocumentRevision, Envelope, PageImage, Signer
from backend.errors import AppError, FieldProblem, validation_error
from backend.evidence.services import append_event
from backend.identity import services as identity
from backend.jobs import services as jobs
from backend.keys import keyed_token, mask_phone, seal, sha256_hex, unseal
from backend.notify import messages
from backend.notify.sms import SmsProvider
from backend.orgs.services import Caller
from backend.orgs.tables import Organisation

logger = logging.getLogger("signlink.envelopes")

MOBILE = re.compile(r"^1[3-9]\d{9}$")
IDENTITY_LEVELS = ("none", "phone3", "bank4", "face")
INTENT_METHODS = ("sms", "face")
PAGE_WIDTH = 1080
MAX_HANDWRITING_BYTES = 1_000_000
LINK_PURPOSE = "signlink/link/v1"


# ---------------------------------------------------------------- creation


def normalise_phone(raw: str) -> str:
    phone = re.sub(r"[\s-]", "", raw)
    for prefix in ("+86", "0086"):
        if phone.startswith(prefix):
            phone = phone[len(prefix) :]
    return phone


def _check_signers(
    template: documents.ContractTemplate, signers: list[schemas.SignerIn]
) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    roles = {r.key: r for r in template.roles}
    seen: set[str] = set()
    if not signers:
        problems.append(
            FieldProblem("signers", "请至少添加一位签署人。", "Add at least one signer.")
        )
    for i, s in enumerate(signers):
        path = f"signers[{i}]"
        if s.role not in roles:
            known = "、".join(roles)
            problems.append(
                FieldProblem(
                    f"{path}.role",
                    f"模板不包含角色“{s.role}”，可用角色：{known}。",
                    f"Unknown role {s.role!r}; this template has: {', '.join(roles)}.",
                )
            )
        elif s.role in seen:
            problems.append(
                FieldProblem(
                    f"{path}.role", "同一角色只能有一位签署人。", "Each role takes one signer."
                )
            )
        seen.add(s.role)
        name = s.name.strip()
        if not (1 <= len(name) <= 50) or any(ch in name for ch in "<>\"'\\\n\r\t"):
            problems.append(
                FieldProblem(
                    f"{path}.name",
                    "请填写签署人真实姓名（1–50 个字符，不含特殊符号）。",
                    "Enter the signer's real name (1–50 characters, no special symbols).",
                )
            )
        if not MOBILE.match(normalise_phone(s.phone)):
            problems.append(
                FieldProblem(
                    f"{path}.phone",
                    "手机号格式不正确，请填写 11 位中国大陆手机号，如 13800138000。",
                    "Invalid phone: use an 11-digit mainland China mobile, e.g. 13800138000.",
                )
            )
        if s.identity not in IDENTITY_LEVELS:
            problems.append(
                FieldProblem(
                    f"{path}.identity",
                    f"实名认证方式应为：{'、'.join(IDENTITY_LEVELS)}。",
                    f"identity must be one of: {', '.join(IDENTITY_LEVELS)}.",
                )
            )
        if s.intent not in INTENT_METHODS:
            problems.append(
                FieldProblem(
                    f"{path}.intent",
                    f"意愿确认方式应为：{'、'.join(INTENT_METHODS)}。",
                    f"intent must be one of: {', '.join(INTENT_METHODS)}.",
                )
            )
        if s.order is not None and not 1 <= s.order <= 50:
            problems.append(
                FieldProblem(f"{path}.order", "签署顺序应为 1–50 的整数。", "order must be 1–50.")
            )
    missing = [r for r in roles if r not in seen]
    if signers and missing:
        problems.append(
            FieldProblem(
                "signers",
                f"缺少角色的签署人：{'、'.join(roles[r].label for r in missing)}。",
                f"Missing signers for roles: {', '.join(missing)}.",
            )
        )
    return problems


def _check_callback(url: str | None) -> list[FieldProblem]:
    if url is None or (re.match(r"^https?://[^\s/]+\S*$", url) and len(url) <= 500):
        return []
    return [
        FieldProblem(
            "callback_url",
            "回调地址应为 http(s):// 开头的完整网址。",
            "callback_url must be a full http(s):// URL.",
        )
    ]


def _new_number(now: datetime) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return f"SL-{now.astimezone(messages.CHINA):%Y%m%d}-" + "".join(
        secrets.choice(alphabet) for _ in range(6)
    )


def signer_token(signer_id: uuid.UUID, nonce: str) -> str:
    return keyed_token(LINK_PURPOSE, f"{signer_id}:{nonce}", length=22)


def signer_link(settings: Settings, signer_id: uuid.UUID, nonce: str) -> str:
    return f"{settings.public_url}/s/{signer_token(signer_id, nonce)}"


async def create_envelope(
    caller: Caller, body: schemas.CreateEnvelope, settings: Settings
) -> uuid.UUID:
    template = documents.get_template(body.template)
    if template is None:
        known = ", ".join(t.key for t in documents.list_templates())
        raise AppError(
            code="unknown_template",
            message=f"模板“{body.template}”不存在。可用模板：{known}。",
            message_en=f"Unknown template {body.template!r}. Available: {known}.",
            fields=[FieldProblem("template", "模板不存在。", "Unknown template.")],
        )
    problems = _check_signers(template, body.signers) + _check_callback(body.callback_url)
    cleaned: dict[str, Any] = {}
    try:
        cleaned = template.validate(body.data)
    except documents.TemplateDataError as exc:
        problems += [FieldProblem(f"data.{e.path}", e.message, e.message_en) for e in exc.errors]
    if problems:
        raise validation_error(problems)

    now = utcnow()
    envelope_id = uuid.uuid4()
    number = _new_number(now)
    by_role = {s.role: s for s in body.signers}
    ordered = sorted(
        template.roles,
        key=lambda r: by_role[r.key].order or template.roles.index(r) + 1,
    )
    rendered = await documents.async_render_document(
        template,
        cleaned,
        document_number=number,
        signers={role: s.name.strip() for role, s in by_role.items()},
    )
    slots = {slot.role: slot for slot in rendered.slots}
    async with transaction():
        await Envelope.insert(
            Envelope(
                id=envelope_id,
                organisation=caller.organisation_id,
                number=number,
                template=template.key,
                template_version=template.version,
                title=template.title,
                status="draft",
                data_sealed=seal(_json(cleaned)),
                current_sha256=rendered.sha256,
                callback_url=body.callback_url,
                expires_at=now + timedelta(days=settings.envelope_ttl_days),
                created_at=now,
                updated_at=now,
            )
        )
        await DocumentRevision.insert(
            DocumentRevision(
                id=uuid.uuid4(),
                envelope=envelope_id,
                seq=1,
                sha256=rendered.sha256,
                pdf=rendered.pdf,
                page_count=rendered.page_count,
                reason="rendered",
                created_at=now,
            )
        )
        first_order = None
        for position, role in enumerate(ordered, start=1):
            s = by_role[role.key]
            order = s.order or position
            first_order = order if first_order is None else min(first_order, order)
            signer_id = uuid.uuid4()
            nonce = secrets.token_hex(8)
            phone = normalise_phone(s.phone)
            await Signer.insert(
                Signer(
                    id=signer_id,
                    envelope=envelope_id,
                    role=role.key,
                    role_label=role.label,
                    name=s.name.strip(),
                    phone_sealed=seal(phone),
                    phone_masked=mask_phone(phone),
                    routing_order=order,
                    identity_level=s.identity,
                    intent_method=s.intent,
                    field_name=slots[role.key].field_name,
                    status="waiting",
                    link_nonce=nonce,
                    token_hash=sha256_hex(signer_token(signer_id, nonce)),
                )
            )
        await append_event(
            envelope_id,
            "envelope.created",
            actor=caller.organisation_name,
            data={
                "template": template.key,
                "template_version": template.version,
                "document_sha256": rendered.sha256,
                "api_key": str(caller.api_key_id),
            },
        )
        await _send(envelope_id, order=first_order or 1)
        await Envelope.update({Envelope.status: "sent"}).where(Envelope.id == envelope_id)
        await append_event(envelope_id, "envelope.sent", actor=caller.organisation_name)
    jobs.wake_worker()
    logger.info("envelope created", extra={"fields": {"envelope": str(envelope_id)}})
    return envelope_id


async def _send(envelope_id: uuid.UUID, order: int) -> None:
    """Queue the invitations for every signer at `order` (inside the caller's transaction)."""
    ids = await Signer.select(Signer.id).where(
        (Signer.envelope == envelope_id) & (Signer.routing_order == order)
    )
    for row in ids:
        await jobs.enqueue("sms.invitation", {"signer_id": str(row["id"])})


def _json(data: Any) -> str:
    import json

    return json.dumps(data, ensure_ascii=False, default=str)


# ---------------------------------------------------------------- reading views


async def envelope_out(envelope_id: uuid.UUID, organisation_id: uuid.UUID) -> schemas.EnvelopeOut:
    env = (
        await Envelope.objects()
        .where((Envelope.id == envelope_id) & (Envelope.organisation == organisation_id))
        .first()
    )
    if env is None:
        raise not_found()
    signers = await Signer.objects().where(Signer.envelope == env.id).order_by(Signer.routing_order)
    return schemas.EnvelopeOut(
        id=str(env.id),
        number=env.number,
        template=env.template,
        template_version=env.template_version,
        title=env.title,
        status=effective_status(env),
        document_sha256=env.current_sha256,
        created_at=env.created_at,
        expires_at=env.expires_at,
        completed_at=env.completed_at,
        signers=[
            schemas.SignerOut(
                id=str(s.id),
                role=s.role,
                role_label=s.role_label,
                name=s.name,
                phone=s.phone_masked,
                order=s.routing_order,
                identity=s.identity_level,
                identity_verified=s.identity_verified_at is not None,
                intent=s.intent_method,
                status=s.status,
                notified_at=s.notified_at,
                viewed_at=s.viewed_at,
                signed_at=s.signed_at,
            )
            for s in signers
        ],
        pdf_url=f"/api/v1/envelopes/{env.id}/pdf",
    )


def effective_status(env: Envelope) -> str:
    if env.status == "sent" and utcnow() > env.expires_at:
        return "expired"
    return env.status


def not_found() -> AppError:
    return AppError(
        code="not_found",
        message="找不到该合同，请检查编号是否正确。",
        message_en="No such envelope.",
        status_code=404,
    )


async def current_pdf(envelope_id: uuid.UUID) -> tuple[Envelope, bytes]:
    env = await Envelope.objects().where(Envelope.id == envelope_id).first()
    if env is None:
        raise not_found()
    rev = (
        await DocumentRevision.select(DocumentRevision.pdf)
        .where(
            (DocumentRevision.envelope == envelope_id)
            & (DocumentRevision.sha256 == env.current_sha256)
        )
        .first()
    )
    if rev is None:
        raise not_found()
    return env, rev["pdf"]


async def api_pdf(envelope_id: uuid.UUID, organisation_id: uuid.UUID) -> tuple[Envelope, bytes]:
    env, pdf = await current_pdf(envelope_id)
    if env.organisation != organisation_id:
        raise not_found()
    return env, pdf


# ---------------------------------------------------------------- the signer's link


@dataclass
class SignerContext:
    """Everything a signer's page needs, resolved from the link token."""

    token: str
    envelope: Envelope
    signer: Signer
    signers: list[Signer]
    sender: str
    page_count: int

    @property
    def is_turn(self) -> bool:
        if self.envelope.status != "sent" or self.signer.status == "signed":
            return False
        if utcnow() > self.envelope.expires_at:
            return False
        pending = [s.routing_order for s in self.signers if s.status != "signed"]
        return bool(pending) and self.signer.routing_order == min(pending)

    @property
    def needs_identity(self) -> bool:
        """The role requires a verified identity this signer has not proven yet."""
        return self.signer.identity_level != "none" and self.signer.identity_verified_at is None

    @property
    def expired(self) -> bool:
        return self.envelope.status == "sent" and utcnow() > self.envelope.expires_at

    @property
    def waiting_for(self) -> list[Signer]:
        pending = [s for s in self.signers if s.status != "signed"]
        if not pending:
            return []
        first = min(s.routing_order for s in pending)
        return [s for s in pending if s.routing_order == first]


async def resolve_link(token: str) -> SignerContext | None:
    """The signer behind a link, or None for an unknown, forged or dead link."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,64}", token):
        return None
    signer = await Signer.objects().where(Signer.token_hash == sha256_hex(token)).first()
    if signer is None:
        return None
    env = await Envelope.objects().where(Envelope.id == signer.envelope).first()
    if env is None or env.status in {"draft", "voided"}:
        return None
    # After the deadline an unsigned link is dead; a signed signer may still download.
    if signer.status != "signed" and effective_status(env) == "expired":
        return None
    signers = await Signer.objects().where(Signer.envelope == env.id).order_by(Signer.routing_order)
    org = (
        await Organisation.select(Organisation.name)
        .where(Organisation.id == env.organisation)
        .first()
    )
    rev = (
        await DocumentRevision.select(DocumentRevision.page_count)
        .where(DocumentRevision.sha256 == env.current_sha256)
        .first()
    )
    return SignerContext(
        token=token,
        envelope=env,
        signer=signer,
        signers=list(signers),
        sender=org["name"] if org else "",
        page_count=rev["page_count"] if rev else 0,
    )


async def record_view(ctx: SignerContext, ip: str, user_agent: str) -> None:
    if ctx.signer.viewed_at is not None:
        return
    async with transaction():
        updated = (
            await Signer.update({Signer.viewed_at: utcnow(), Signer.status: "viewed"})
            .where((Signer.id == ctx.signer.id) & Signer.viewed_at.is_null())
            .returning(Signer.id)
        )
        if updated:
            await append_event(
                ctx.envelope.id,
                "signer.viewed",
                actor=ctx.signer.role,
                data={"signer": str(ctx.signer.id), "ip": ip, "user_agent": user_agent[:300]},
            )
    ctx.signer.viewed_at = utcnow()


async def page_image(ctx: SignerContext, index: int) -> bytes:
    """One page of the current revision as WebP; the last page marks the document as read."""
    if not 0 <= index < ctx.page_count:
        raise not_found()
    sha = ctx.envelope.current_sha256
    cached = (
        await PageImage.select(PageImage.image)
        .where((PageImage.sha256 == sha) & (PageImage.page == index))
        .first()
    )
    if cached is not None:
        image = cached["image"]
    else:
        _, pdf = await current_pdf(ctx.envelope.id)
        import asyncio

        image = await asyncio.to_thread(
            documents.render_page_image, pdf, index, width=PAGE_WIDTH, format="webp"
        )
        await PageImage.insert(
            PageImage(
                id=uuid.uuid4(),
                sha256=sha,
                page=index,
                width=PAGE_WIDTH,
                image=image,
                content_type="image/webp",
            )
        )
    if index == ctx.page_count - 1 and ctx.is_turn:
        async with transaction():
            done = (
                await Signer.update({Signer.read_at: utcnow()})
                .where((Signer.id == ctx.signer.id) & Signer.read_at.is_null())
                .returning(Signer.id)
            )
            if done:
                await append_event(
                    ctx.envelope.id,
                    "signer.read",
                    actor=ctx.signer.role,
                    data={"signer": str(ctx.signer.id), "document_sha256": sha},
                )
    return image


def _require_turn(ctx: SignerContext) -> None:
    if ctx.signer.status == "signed":
        raise AppError("already_signed", "您已完成签署。", "You have already signed.", 409)
    if not ctx.is_turn:
        names = "、".join(s.name for s in ctx.waiting_for)
        raise AppError(
            "not_your_turn",
            f"还未轮到您签署，请等待{names}先完成签署，届时会短信通知您。",
            "It is not your turn to sign yet; you will get an SMS when it is.",
            409,
        )


def _require_identity(ctx: SignerContext) -> None:
    if ctx.needs_identity:
        raise AppError(
            "identity_required",
            "该合同要求先完成实名认证，请先完成认证再签署。",
            "This document requires identity verification before signing.",
            403,
        )


async def record_identity(
    ctx: SignerContext,
    *,
    method: str,
    provider: str,
    request_id: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Mark the signer's identity as verified (called by the identity step on success)."""
    now = utcnow()
    async with transaction():
        await Signer.update(
            {Signer.identity_verified_at: now, Signer.identity_method: method}
        ).where(Signer.id == ctx.signer.id)
        await append_event(
            ctx.envelope.id,
            "signer.verified",
            actor=ctx.signer.role,
            data={
                "signer": str(ctx.signer.id),
                "method": method,
                "provider": provider,
                "provider_request_id": request_id,
                **(detail or {}),
            },
        )
    ctx.signer.identity_verified_at = now
    ctx.signer.identity_method = method


def _require_read(ctx: SignerContext) -> None:
    if ctx.signer.read_at is None:
        raise AppError(
            "not_read",
            "请先完整阅读合同全部页面，再进行验证。",
            "Read every page of the document first.",
            400,
        )


async def send_intent_code(ctx: SignerContext, settings: Settings, sms: SmsProvider) -> int:
    """Send the SMS code; returns seconds until another may be sent."""
    _require_turn(ctx)
    _require_identity(ctx)
    _require_read(ctx)
    result = await identity.send_intent_code(
        ctx.signer.id, unseal(ctx.signer.phone_sealed), settings, sms
    )
    if not result.ok:
        raise AppError("otp_rate_limited", result.message, "Please wait before resending.", 429)
    async with transaction():
        await append_event(
            ctx.envelope.id,
            "intent.code_sent",
            actor=ctx.signer.role,
            data={
                "signer": str(ctx.signer.id),
                "to": ctx.signer.phone_masked,
                "provider": result.provider,
                "message_id": result.message_id,
            },
        )
    return settings.otp_resend_seconds


async def confirm_intent_code(
    ctx: SignerContext, code: str, settings: Settings
) -> tuple[str | None, identity.CodeCheck]:
    """Check the code; on success returns a fresh session token for the signing step."""
    _require_turn(ctx)
    _require_read(ctx)
    check = await identity.verify_intent_code(ctx.signer.id, code, settings)
    if not check.ok:
        return None, check
    session = await open_intent_session(
        ctx, method="sms-otp", detail={"to": ctx.signer.phone_masked}
    )
    return session, check


async def open_intent_session(
    ctx: SignerContext, *, method: str, detail: dict[str, Any] | None = None
) -> str:
    """The signer confirmed intent (SMS code, face): returns the token for the signing step.

    The caller sets it as the SESSION_COOKIE; signing must happen within intent_ttl_seconds.
    """
    _require_turn(ctx)
    _require_identity(ctx)
    session = secrets.token_urlsafe(32)
    async with transaction():
        await Signer.update(
            {Signer.intent_verified_at: utcnow(), Signer.session_hash: sha256_hex(session)}
        ).where(Signer.id == ctx.signer.id)
        await append_event(
            ctx.envelope.id,
            "intent.confirmed",
            actor=ctx.signer.role,
            data={
                "signer": str(ctx.signer.id),
                "method": method,
                "document_sha256": ctx.envelope.current_sha256,
                **(detail or {}),
            },
        )
    return session


def has_intent_session(ctx: SignerContext, session: str | None, settings: Settings) -> bool:
    s = ctx.signer
    if not session or s.session_hash is None or s.intent_verified_at is None:
        return False
    fresh = utcnow() - s.intent_verified_at < timedelta(seconds=settings.intent_ttl_seconds)
    return fresh and secrets.compare_digest(s.session_hash, sha256_hex(session))


def _require_session(ctx: SignerContext, session: str | None, settings: Settings) -> None:
    _require_turn(ctx)
    _require_identity(ctx)
    if not has_intent_session(ctx, session, settings):
        raise AppError(
            "intent_required",
            "验证已过期，请重新获取短信验证码后再签名。",
            "Your verification expired; confirm with a new SMS code.",
            403,
        )


def parse_handwriting(data_url: str) -> bytes:
    """The drawn signature: a PNG data URL with enough ink, cropped and re-encoded."""
    bad = AppError(
        "handwriting_invalid",
        "未能识别签名图像，请清除后重新签名。",
        "The signature image could not be read; clear the pad and sign again.",
        400,
    )
    prefix = "data:image/png;base64,"
    if not data_url.startswith(prefix) or len(data_url) > MAX_HANDWRITING_BYTES * 4 // 3 + 100:
        raise bad
    try:
        raw = base64.b64decode(data_url[len(prefix) :], validate=True)
        with Image.open(io.BytesIO(raw)) as im:
            if im.format != "PNG" or im.width > 4000 or im.height > 4000:
                raise bad
            rgba = im.convert("RGBA")
    except (binascii.Error, UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise bad from None
    alpha = rgba.getchannel("A")
    inked = alpha.point(lambda a: 255 if a > 40 else 0)
    bbox = inked.getbbox()
    ink = inked.histogram()[255]
    if bbox is None or ink < 150 or (bbox[2] - bbox[0]) < 30:
        raise AppError(
            "handwriting_too_little",
            "签名笔迹过少，请用手指在框内清晰书写您的姓名。",
            "Too little ink: write your full name in the box.",
            400,
        )
    pad = 8
    box = (
        max(bbox[0] - pad, 0),
        max(bbox[1] - pad, 0),
        min(bbox[2] + pad, rgba.width),
        min(bbox[3] + pad, rgba.height),
    )
    out = io.BytesIO()
    rgba.crop(box).save(out, format="PNG", optimize=True)
    return out.getvalue()


async def submit_handwriting(
    ctx: SignerContext, session: str | None, data_url: str, settings: Settings
) -> bytes:
    _require_session(ctx, session, settings)
    png = parse_handwriting(data_url)
    await Signer.update({Signer.handwriting_png: png}).where(Signer.id == ctx.signer.id)
    ctx.signer.handwriting_png = png
    return png


async def sign(
    ctx: SignerContext,
    session: str | None,
    settings: Settings,
    ca: signing.CertificateAuthority,
    user_agent: str,
) -> None:
    """Apply this signer's PAdES signature, store the revision, move the envelope on."""
    _require_session(ctx, session, settings)
    if not ctx.signer.handwriting_png:
        raise AppError("handwriting_missing", "请先手写签名。", "Draw your signature first.", 400)
    env, pdf = await current_pdf(ctx.envelope.id)
    intent = signing.SigningIntent(
        envelope_id=str(env.id),
        signer_id=str(ctx.signer.id),
        signer_name=ctx.signer.name,
        signer_role=ctx.signer.role,
        field_name=ctx.signer.field_name,
        document_sha256=env.current_sha256,
        handwriting_png=ctx.signer.handwriting_png,
        verified_by="sms-otp",
        signed_at=utcnow(),
        device=user_agent[:300],
        reason=f"{ctx.signer.role_label}签署《{env.title}》",
    )
    try:
        signed = await signing.async_sign_intent(pdf, intent, ca)
    except signing.FieldAlreadySigned:
        raise AppError("already_signed", "您已完成签署。", "Already signed.", 409) from None
    except signing.IntentMismatch:
        raise _changed() from None

    now = utcnow()
    async with transaction():
        # Optimistic lock: only the revision the signer saw may be replaced.
        moved = (
            await Envelope.update(
                {Envelope.current_sha256: signed.sha256, Envelope.updated_at: now}
            )
            .where((Envelope.id == env.id) & (Envelope.current_sha256 == env.current_sha256))
            .returning(Envelope.id)
        )
        if not moved:
            raise _changed()
        seq = await DocumentRevision.count().where(DocumentRevision.envelope == env.id)
        page_count = (
            await DocumentRevision.select(DocumentRevision.page_count)
            .where(DocumentRevision.sha256 == env.current_sha256)
            .first()
        )
        await DocumentRevision.insert(
            DocumentRevision(
                id=uuid.uuid4(),
                envelope=env.id,
                seq=seq + 1,
                sha256=signed.sha256,
                pdf=signed.pdf,
                page_count=page_count["page_count"] if page_count else 0,
                reason=f"signed:{ctx.signer.role}",
                created_at=now,
            )
        )
        await Signer.update(
            {
                Signer.status: "signed",
                Signer.signed_at: now,
                Signer.certificate_serial: signed.certificate_serial,
                Signer.session_hash: None,
            }
        ).where(Signer.id == ctx.signer.id)
        await append_event(
            env.id,
            "signer.signed",
            actor=ctx.signer.role,
            data={
                "signer": str(ctx.signer.id),
                "field": ctx.signer.field_name,
                "certificate_serial": signed.certificate_serial,
                "document_sha256_before": env.current_sha256,
                "document_sha256_after": signed.sha256,
                "handwriting_sha256": sha256_hex(ctx.signer.handwriting_png),
            },
        )
        remaining = [
            s.routing_order for s in ctx.signers if s.status != "signed" and s.id != ctx.signer.id
        ]
        if not remaining:
            await Envelope.update({Envelope.status: "completed", Envelope.completed_at: now}).where(
                Envelope.id == env.id
            )
            await append_event(
                env.id, "envelope.completed", data={"document_sha256": signed.sha256}
            )
        elif min(remaining) > ctx.signer.routing_order:
            await _send(env.id, order=min(remaining))
    jobs.wake_worker()


def _changed() -> AppError:
    return AppError(
        "document_changed",
        "合同刚刚被其他签署人更新，请刷新页面查看最新版本后再签署。",
        "The document changed meanwhile; reload and review it again.",
        409,
    )


async def record_download(ctx: SignerContext) -> None:
    async with transaction():
        await append_event(
            ctx.envelope.id,
            "document.downloaded",
            actor=ctx.signer.role,
            data={"signer": str(ctx.signer.id), "document_sha256": ctx.envelope.current_sha256},
        )


# ---------------------------------------------------------------- background jobs


def register_jobs(settings: Settings, sms: SmsProvider) -> None:
    @jobs.handler("sms.invitation")
    async def send_invitation(payload: dict[str, Any]) -> None:
        signer = await Signer.objects().where(Signer.id == uuid.UUID(payload["signer_id"])).first()
        if signer is None or signer.status == "signed":
            return
        env = await Envelope.objects().where(Envelope.id == signer.envelope).first()
        if env is None or env.status != "sent":
            return
        org = (
            await Organisation.select(Organisation.name)
            .where(Organisation.id == env.organisation)
            .first()
        )
        text = messages.signing_invitation(
            settings.sms_sign_name,
            org["name"] if org else "",
            env.title,
            env.expires_at,
            signer_link(settings, signer.id, signer.link_nonce),
        )
        receipt = await sms.send(unseal(signer.phone_sealed), text)
        async with transaction():
            await Signer.update({Signer.notified_at: utcnow(), Signer.status: "notified"}).where(
                (Signer.id == signer.id) & (Signer.status == "waiting")
            )
            await append_event(
                env.id,
                "signer.notified",
                data={
                    "signer": str(signer.id),
                    "to": signer.phone_masked,
                    "provider": receipt.provider,
                    "message_id": receipt.message_id,
                },
            )
