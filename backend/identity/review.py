"""Manual identity review: photos in, the organisation's reviewer decides, SMS out.

Reviewers are the organisation's members with the ``verifier`` role (or admins), on the
phone pages under ``/app/reviews``; a business system can work the same queue through the
API with the organisation's key. Photos are sealed at rest (AES-GCM with a key derived
from the master key) and only leave, uncached, to that organisation.
"""

from __future__ import annotations

import io
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import Image, UnidentifiedImageError

from backend import documents, keys
from backend.config import Settings, get_settings
from backend.database import transaction, utcnow
from backend.envelopes.services import (
    SignerContext,
    effective_status,
    record_identity,
    signer_link,
)
from backend.envelopes.tables import Envelope, Signer
from backend.errors import AppError
from backend.evidence.services import append_event
from backend.i18n import N_
from backend.identity import checks
from backend.identity.schemas import ReviewOut
from backend.identity.tables import IdentityReview
from backend.identity.verification import load_claim
from backend.jobs import services as jobs
from backend.keys import seal, unseal
from backend.notify.sms import get_sms_provider
from backend.orgs.members import MemberContext
from backend.orgs.services import Caller

logger = logging.getLogger("signlink.identity")

IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MIN_SIDE = 300
REVIEWS_PER_SIGNER = 5
EXPECTED_WAIT = N_("15–30 分钟")
#: Past the promised wait: the queue marks the request as overdue.
OVERDUE_MINUTES = 30
#: The member role that may open the photos and decide (admins may too).
REVIEWER_ROLE = "verifier"
#: Reasons a reviewer picks most often; the signer reads the one chosen.
COMMON_REASONS = (
    "证件照片不清晰或不完整，请拍摄四角完整、文字清晰的照片",
    "手持证件照片中人脸或证件看不清，请重新拍摄",
    "照片中的证件与填写的证件号码不一致",
    "证件已过有效期，请使用有效证件",
)
_BLOB_PURPOSE = "signlink/pii-blob/v1"


def seal_bytes(data: bytes) -> bytes:
    return keys.seal_bytes(data, _BLOB_PURPOSE)


def unseal_bytes(blob: bytes) -> bytes:
    return keys.unseal_bytes(blob, _BLOB_PURPOSE)


@dataclass(frozen=True)
class Photo:
    data: bytes
    content_type: str


def check_photo(raw: bytes, label: str, settings: Settings) -> Photo:
    """A real JPEG/PNG/WebP photo of a sensible size; anything else is refused."""
    if not raw:
        raise AppError(
            "photo_missing", N_("请上传%(label)s。") % {"label": label}, "Upload the photo.", 400
        )
    if len(raw) > settings.identity_review_max_bytes:
        mb = settings.identity_review_max_bytes // 1_000_000
        raise AppError(
            "photo_too_large",
            N_("%(label)s超过 %(mb)s MB，请压缩后重新上传。") % {"label": label, "mb": mb},
            "Photo too large.",
            400,
        )
    try:
        with Image.open(io.BytesIO(raw)) as im:
            fmt = im.format or ""
            width, height = im.size
            im.verify()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        fmt, width, height = "", 0, 0
    if fmt not in IMAGE_TYPES:
        raise AppError(
            "photo_invalid",
            N_("%(label)s无法识别，请上传 JPG、PNG 或 WebP 格式的照片。") % {"label": label},
            "Upload a JPG, PNG or WebP photo.",
            400,
        )
    if min(width, height) < MIN_SIDE:
        raise AppError(
            "photo_too_small",
            N_("%(label)s太小或不清晰，请拍摄清晰完整的照片后重新上传。") % {"label": label},
            "Photo too small.",
            400,
        )
    return Photo(raw, IMAGE_TYPES[fmt])


async def latest_review(signer_id: uuid.UUID) -> IdentityReview | None:
    return (
        await IdentityReview.objects()
        .where(IdentityReview.signer == signer_id)
        .order_by(IdentityReview.created_at, ascending=False)
        .first()
    )


async def submit(ctx: SignerContext, front: Photo, holding: Photo) -> uuid.UUID:
    claim = await load_claim(ctx.signer.id)
    if claim is None:
        raise AppError("identity_claim_missing", "请先填写身份信息。", "Enter your ID first.", 400)
    review_id = uuid.uuid4()
    async with transaction():
        mine = await IdentityReview.select(IdentityReview.status).where(
            IdentityReview.signer == ctx.signer.id
        )
        if any(r["status"] == "pending" for r in mine):
            raise AppError(
                "review_pending",
                N_("您已提交人工审核，请耐心等待结果短信。"),
                "A review is already pending.",
                409,
            )
        if len(mine) >= REVIEWS_PER_SIGNER:
            raise AppError(
                "review_limit",
                N_("人工审核提交次数过多，请联系发起方。"),
                "Too many review requests.",
                429,
            )
        await IdentityReview.insert(
            IdentityReview(
                id=review_id,
                signer=ctx.signer.id,
                envelope=ctx.envelope.id,
                organisation=ctx.envelope.organisation,
                name=claim.name,
                id_type=claim.id_type,
                id_sealed=seal(claim.id_number),
                id_hash=claim.id_hash,
                id_masked=claim.id_masked,
                front_sealed=seal_bytes(front.data),
                front_type=front.content_type,
                holding_sealed=seal_bytes(holding.data),
                holding_type=holding.content_type,
                status="pending",
                created_at=utcnow(),
            )
        )
        await append_event(
            ctx.envelope.id,
            "identity.review_submitted",
            actor=ctx.signer.role,
            data={
                "signer": str(ctx.signer.id),
                "review": str(review_id),
                "id_type": claim.id_type,
                "id_masked": claim.id_masked,
            },
        )
    return review_id


# ------------------------------------------------------------------ the reviewer's side


@dataclass(frozen=True)
class Reviewer:
    """Who decides for the organisation: a member on the phone pages or an API key."""

    organisation_id: uuid.UUID
    organisation_name: str
    label: str  # kept with the review ("decided_by") and in the evidence
    audit: dict[str, str]

    @classmethod
    def from_key(cls, caller: Caller) -> Reviewer:
        return cls(
            caller.organisation_id,
            caller.organisation_name,
            f"{caller.organisation_name} (API key {caller.api_key_id})",
            {"api_key": str(caller.api_key_id)},
        )

    @classmethod
    def from_member(cls, member: MemberContext) -> Reviewer:
        return cls(
            member.organisation_id,
            member.organisation_name,
            f"{member.name} (member {member.member_id})",
            {"member": str(member.member_id), "member_name": member.name},
        )


def _role_en(row: dict[str, Any]) -> str:
    template = documents.get_template(row.get("envelope.template") or "")
    role = template.role(row.get("signer.role") or "") if template else None
    return role.label_en if role else row.get("signer.role") or ""


def review_out(row: dict[str, Any]) -> ReviewOut:
    base = f"/api/v1/identity/reviews/{row['id']}"
    return ReviewOut(
        id=str(row["id"]),
        envelope_id=str(row["envelope"]),
        envelope_number=row.get("envelope.number") or "",
        envelope_title=row.get("envelope.title") or "",
        signer_role=row.get("signer.role_label") or "",
        signer_role_en=_role_en(row),
        name=row["name"],
        id_type=row["id_type"],
        id_type_label=checks.ID_TYPES.get(row["id_type"], row["id_type"]),
        id_number=row["id_masked"],
        status=row["status"],
        reason=row["reason"],
        created_at=row["created_at"],
        decided_at=row["decided_at"],
        front_url=f"{base}/images/front",
        holding_url=f"{base}/images/holding",
    )


_COLUMNS = (
    IdentityReview.id,
    IdentityReview.envelope,
    IdentityReview.envelope.number,
    IdentityReview.envelope.title,
    IdentityReview.signer.role_label,
    IdentityReview.signer.role,
    IdentityReview.envelope.template,
    IdentityReview.name,
    IdentityReview.id_type,
    IdentityReview.id_masked,
    IdentityReview.status,
    IdentityReview.reason,
    IdentityReview.created_at,
    IdentityReview.decided_at,
)


async def list_reviews(organisation_id: uuid.UUID, status: str) -> list[ReviewOut]:
    """Oldest first: the queue is worked in the order people have been waiting."""
    query = IdentityReview.select(*_COLUMNS).where(IdentityReview.organisation == organisation_id)
    if status != "all":
        query = query.where(IdentityReview.status == status)
    if status == "pending":
        # Requests of envelopes voided, declined or expired meanwhile need no decision.
        query = query.where(
            (IdentityReview.envelope.status == "sent")
            & (IdentityReview.envelope.expires_at > utcnow())
        )
    rows = await query.order_by(IdentityReview.created_at).limit(200)
    return [review_out(r) for r in rows]


async def recently_decided(organisation_id: uuid.UUID, limit: int = 20) -> list[ReviewOut]:
    rows = (
        await IdentityReview.select(*_COLUMNS)
        .where(
            (IdentityReview.organisation == organisation_id) & (IdentityReview.status != "pending")
        )
        .order_by(IdentityReview.decided_at, ascending=False)
        .limit(limit)
    )
    return [review_out(r) for r in rows]


async def get_review(organisation_id: uuid.UUID, review_id: uuid.UUID) -> ReviewOut:
    row = (
        await IdentityReview.select(*_COLUMNS)
        .where((IdentityReview.id == review_id) & (IdentityReview.organisation == organisation_id))
        .first()
    )
    if row is None:
        raise _not_found()
    return review_out(row)


def _not_found() -> AppError:
    return AppError("not_found", "找不到该审核记录。", "No such review.", 404)


async def review_image(organisation_id: uuid.UUID, review_id: uuid.UUID, kind: str) -> Photo:
    if kind not in {"front", "holding"}:
        raise _not_found()
    row = (
        await IdentityReview.select(
            IdentityReview.front_sealed,
            IdentityReview.front_type,
            IdentityReview.holding_sealed,
            IdentityReview.holding_type,
        )
        .where((IdentityReview.id == review_id) & (IdentityReview.organisation == organisation_id))
        .first()
    )
    if row is None:
        raise _not_found()
    return Photo(unseal_bytes(row[f"{kind}_sealed"]), row[f"{kind}_type"])


async def decide(
    reviewer: Reviewer, review_id: uuid.UUID, *, approve: bool, reason: str
) -> ReviewOut:
    reason = reason.strip()
    if not approve and not 2 <= len(reason) <= 200:
        raise AppError(
            "reason_required",
            "驳回时请填写原因（2–200 字），签署人会看到它。",
            "A rejection needs a reason (2–200 characters); the signer sees it.",
            400,
        )
    row = (
        await IdentityReview.objects()
        .where(
            (IdentityReview.id == review_id)
            & (IdentityReview.organisation == reviewer.organisation_id)
        )
        .first()
    )
    if row is None:
        raise _not_found()
    signer = await Signer.objects().where(Signer.id == row.signer).first()
    env = await Envelope.objects().where(Envelope.id == row.envelope).first()
    if signer is None or env is None:
        raise _not_found()
    if effective_status(env) != "sent":
        raise AppError(
            "envelope_closed",
            "该合同已结束（已撤销、拒签、过期或已完成），无需再审核。",
            "The envelope is no longer open for signing; there is nothing to decide.",
            409,
        )
    status = "approved" if approve else "rejected"
    now = utcnow()
    async with transaction():
        won = (
            await IdentityReview.update(
                {
                    IdentityReview.status: status,
                    IdentityReview.reason: reason[:200],
                    IdentityReview.decided_by: reviewer.label[:100],
                    IdentityReview.decided_at: now,
                }
            )
            .where((IdentityReview.id == review_id) & (IdentityReview.status == "pending"))
            .returning(IdentityReview.id)
        )
        if not won:
            raise AppError(
                "review_decided", "该审核已处理。", "This review was already decided.", 409
            )
        await append_event(
            env.id,
            f"identity.review_{status}",
            actor=reviewer.organisation_name,
            data={
                "signer": str(signer.id),
                "review": str(review_id),
                **reviewer.audit,
                **({"reason": reason} if reason else {}),
            },
        )
        await jobs.enqueue("sms.identity_review", {"review_id": str(review_id)})
    if approve and signer.identity_verified_at is None:
        ctx = SignerContext(
            token="", envelope=env, signer=signer, signers=[], sender="", page_count=0
        )
        await record_identity(
            ctx,
            method="manual",
            provider="manual-review",
            request_id=str(review_id),
            detail={
                "id_type": row.id_type,
                "id_masked": row.id_masked,
                "reviewer": reviewer.label,
            },
        )
    jobs.wake_worker()
    logger.info(
        "identity review decided", extra={"fields": {"review": str(review_id), "status": status}}
    )
    updated = await IdentityReview.select(*_COLUMNS).where(IdentityReview.id == review_id).first()
    assert updated is not None
    return review_out(updated)


def review_outcome_text(sign_name: str, approved: bool, url: str) -> str:
    if approved:
        return f"【{sign_name}】您的实名认证已通过人工审核，请点击链接继续签署：{url}"
    return f"【{sign_name}】您的实名认证未通过人工审核，请点击链接查看原因并重新提交：{url}"


@jobs.handler("sms.identity_review")
async def _notify_outcome(payload: dict[str, Any]) -> None:
    row = (
        await IdentityReview.select(IdentityReview.signer, IdentityReview.status)
        .where(IdentityReview.id == uuid.UUID(payload["review_id"]))
        .first()
    )
    if row is None or row["status"] == "pending":
        return
    signer = await Signer.objects().where(Signer.id == row["signer"]).first()
    if signer is None:
        return
    settings = get_settings()
    text = review_outcome_text(
        settings.sms_sign_name,
        row["status"] == "approved",
        signer_link(settings, signer.id, signer.link_nonce),
    )
    receipt = await get_sms_provider(settings).send(unseal(signer.phone_sealed), text)
    async with transaction():
        await append_event(
            signer.envelope,
            "identity.review_notified",
            data={
                "signer": str(signer.id),
                "to": signer.phone_masked,
                "provider": receipt.provider,
                "message_id": receipt.message_id,
            },
        )


def waiting_since(created_at: datetime) -> int:
    return int((utcnow() - created_at).total_seconds() // 60)
