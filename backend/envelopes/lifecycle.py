"""How an envelope ends other than by completion, and the nudges before its deadline.

- decline: a signer refuses with a reason → ``declined``; the others who were already
  asked get an SMS; audit ``signer.declined``.
- void: the sender withdraws it → ``voided``; every link dies; audit ``envelope.voided``.
- expiry: a job at the deadline (and any read after it) → ``expired``; audit
  ``envelope.expired``.
- reminders: one automatic SMS ``reminder_before_hours`` before the deadline to whoever's
  turn it is, and manual resends by the sender with a cooldown.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from backend.config import Settings, get_settings
from backend.database import transaction, utcnow
from backend.envelopes.services import (
    RENDER_JOB,
    STAMP,
    SignerContext,
    not_found,
    render_draft,
    signer_link,
)
from backend.envelopes.tables import Envelope, Signer
from backend.errors import AppError, FieldProblem, validation_error
from backend.evidence import kinds
from backend.evidence.services import append_event
from backend.jobs import services as jobs
from backend.keys import unseal
from backend.notify import messages
from backend.notify.sms import SmsProvider
from backend.orgs.services import Caller
from backend.orgs.tables import Organisation

EXPIRE_JOB = "envelope.expire"
REMIND_JOB = "sms.reminder"
NOTICE_JOB = "sms.notice"
OPEN = ("draft", "sent")


def clean_reason(raw: str | None, field: str = "reason") -> str:
    reason = " ".join((raw or "").split())
    if not 2 <= len(reason) <= 200 or re.search(r"[<>\x00-\x1f]", reason):
        raise validation_error(
            [
                FieldProblem(
                    field,
                    "请填写原因（2–200 个字）。",
                    "Give a reason (2–200 characters).",
                )
            ]
        )
    return reason


async def schedule_deadline(envelope_id: uuid.UUID, expires_at: datetime) -> None:
    """Queue the expiry and the automatic reminder (inside the sending transaction)."""
    await jobs.enqueue(EXPIRE_JOB, {"envelope_id": str(envelope_id)}, run_at=expires_at)
    lead = timedelta(hours=get_settings().reminder_before_hours)
    if lead and expires_at - lead > utcnow():
        await jobs.enqueue(
            REMIND_JOB, {"envelope_id": str(envelope_id), "auto": True}, run_at=expires_at - lead
        )


async def _notify_asked(envelope_id: uuid.UUID, text: str, *, skip: uuid.UUID | None) -> None:
    """An SMS to every signer who already got their link (the others never heard of it)."""
    asked = await Signer.select(Signer.id).where(
        (Signer.envelope == envelope_id) & Signer.notified_at.is_not_null()
    )
    for row in asked:
        if row["id"] != skip:
            await jobs.enqueue(NOTICE_JOB, {"signer_id": str(row["id"]), "text": text})


async def decline(ctx: SignerContext, reason: str, settings: Settings) -> None:
    """The signer refuses to sign: the envelope ends as declined."""
    reason = clean_reason(reason)
    signer = ctx.signer
    if signer.status == "signed":
        raise AppError("already_signed", "您已完成签署，不能再拒签。", "You already signed.", 409)
    now = utcnow()
    async with transaction():
        ended = (
            await Envelope.update(
                {
                    Envelope.status: "declined",
                    Envelope.status_reason: reason,
                    Envelope.ended_at: now,
                    Envelope.updated_at: now,
                }
            )
            .where(
                (Envelope.id == ctx.envelope.id)
                & (Envelope.status == "sent")
                & (Envelope.expires_at > now)
            )
            .returning(Envelope.id)
        )
        if not ended:
            raise AppError(
                "not_open", "该合同已结束，无法拒签。", "This envelope is no longer open.", 409
            )
        await Signer.update(
            {Signer.status: "declined", Signer.declined_at: now, Signer.decline_reason: reason}
        ).where(Signer.id == signer.id)
        await append_event(
            ctx.envelope.id,
            kinds.SIGNER_DECLINED,
            actor=signer.role,
            data={"signer": str(signer.id), "reason": reason},
        )
        text = messages.envelope_declined(
            settings.sms_sign_name, ctx.envelope.title, signer.name, signer.role_label
        )
        await _notify_asked(ctx.envelope.id, text, skip=signer.id)
    jobs.wake_worker()


async def void(caller: Caller, envelope_id: uuid.UUID, reason: str, settings: Settings) -> None:
    """The sender withdraws the envelope: every signing link stops working at once."""
    reason = clean_reason(reason)
    now = utcnow()
    async with transaction():
        env = (
            await Envelope.objects()
            .where((Envelope.id == envelope_id) & (Envelope.organisation == caller.organisation_id))
            .first()
        )
        if env is None:
            raise not_found()
        ended = (
            await Envelope.update(
                {
                    Envelope.status: "voided",
                    Envelope.status_reason: reason,
                    Envelope.ended_at: now,
                    Envelope.updated_at: now,
                }
            )
            .where((Envelope.id == envelope_id) & Envelope.status.is_in(list(OPEN)))
            .returning(Envelope.id)
        )
        if not ended:
            raise AppError(
                "not_open",
                f"该合同当前状态为“{env.status}”，不能撤销。",
                f"An envelope that is {env.status} cannot be voided.",
                409,
            )
        await append_event(
            envelope_id,
            kinds.ENVELOPE_VOIDED,
            actor=caller.organisation_name,
            data={"reason": reason},
        )
        text = messages.envelope_voided(settings.sms_sign_name, caller.organisation_name, env.title)
        await _notify_asked(envelope_id, text, skip=None)
    jobs.wake_worker()


async def expire(envelope_id: uuid.UUID) -> bool:
    """Mark a sent envelope past its deadline as expired (once); True if this call did it."""
    now = utcnow()
    async with transaction():
        ended = (
            await Envelope.update(
                {Envelope.status: "expired", Envelope.ended_at: now, Envelope.updated_at: now}
            )
            .where(
                (Envelope.id == envelope_id)
                & (Envelope.status == "sent")
                & (Envelope.expires_at <= now)
            )
            .returning(Envelope.expires_at)
        )
        if ended:
            await append_event(
                envelope_id,
                kinds.ENVELOPE_EXPIRED,
                data={"deadline": ended[0]["expires_at"].isoformat()},
            )
    return bool(ended)


async def expire_due(limit: int = 500) -> int:
    """Expire every sent envelope already past its deadline (a sweep; jobs do it one by one)."""
    due = (
        await Envelope.select(Envelope.id)
        .where((Envelope.status == "sent") & (Envelope.expires_at <= utcnow()))
        .limit(limit)
    )
    return sum([await expire(row["id"]) for row in due])


def _turn(signers: list[Signer]) -> list[Signer]:
    """Whose turn it is among the people who get SMS (stamping steps wait in a queue)."""
    pending = [s for s in signers if s.status not in ("signed", "declined")]
    if not pending:
        return []
    first = min(s.routing_order for s in pending)
    return [s for s in pending if s.routing_order == first and s.intent_method != STAMP]


async def remind(
    caller: Caller, envelope_id: uuid.UUID, signer_id: uuid.UUID, settings: Settings
) -> datetime:
    """The sender resends the link to a signer whose turn it is; returns when it was queued."""
    env = (
        await Envelope.objects()
        .where((Envelope.id == envelope_id) & (Envelope.organisation == caller.organisation_id))
        .first()
    )
    if env is None:
        raise not_found()
    now = utcnow()
    if env.status != "sent" or env.expires_at <= now:
        raise AppError(
            "not_open", "该合同已结束，无法提醒。", "This envelope is no longer open.", 409
        )
    signers = list(await Signer.objects().where(Signer.envelope == envelope_id))
    signer = next((s for s in signers if s.id == signer_id), None)
    if signer is None:
        raise AppError("not_found", "找不到该签署人。", "No such signer.", 404)
    if signer not in _turn(signers):
        raise AppError(
            "not_signers_turn",
            "还未轮到该签署人，或其已完成签署，无需提醒。",
            "It is not this signer's turn (or they already signed).",
            409,
        )
    cooldown = timedelta(seconds=settings.remind_cooldown_seconds)
    last = max((t for t in (signer.reminded_at, signer.notified_at) if t), default=None)
    if last is not None and now - last < cooldown:
        wait = int((last + cooldown - now).total_seconds()) + 1
        raise AppError(
            "remind_cooldown",
            f"刚刚已通知过该签署人，请 {wait // 60 + 1} 分钟后再提醒。",
            f"This signer was notified recently; try again in {wait} seconds.",
            429,
        )
    async with transaction():
        won = (
            await Signer.update({Signer.reminded_at: now})
            .where(
                (Signer.id == signer.id)
                & (Signer.reminded_at.is_null() | (Signer.reminded_at < now - cooldown))
            )
            .returning(Signer.id)
        )
        if not won:
            raise AppError("remind_cooldown", "请稍后再提醒。", "Try again later.", 429)
        await jobs.enqueue(REMIND_JOB, {"signer_id": str(signer.id), "auto": False})
    jobs.wake_worker()
    return now


async def _send_reminder(
    signer: Signer, env: Envelope, settings: Settings, sms: SmsProvider
) -> None:
    org = (
        await Organisation.select(Organisation.name)
        .where(Organisation.id == env.organisation)
        .first()
    )
    text = messages.signing_reminder(
        settings.sms_sign_name,
        org["name"] if org else "",
        env.title,
        env.expires_at,
        signer_link(settings, signer.id, signer.link_nonce),
    )
    receipt = await sms.send(unseal(signer.phone_sealed), text)
    async with transaction():
        await Signer.update({Signer.reminded_at: utcnow()}).where(Signer.id == signer.id)
        await append_event(
            env.id,
            kinds.SIGNER_NOTIFIED,
            data={
                "signer": str(signer.id),
                "to": signer.phone_masked,
                "reminder": True,
                "provider": receipt.provider,
                "message_id": receipt.message_id,
            },
        )


def register_jobs(settings: Settings, sms: SmsProvider) -> None:
    @jobs.handler(RENDER_JOB)
    async def render_job(payload: dict[str, Any]) -> None:
        await render_draft(uuid.UUID(payload["envelope_id"]))

    @jobs.handler(EXPIRE_JOB)
    async def expire_job(payload: dict[str, Any]) -> None:
        await expire(uuid.UUID(payload["envelope_id"]))

    @jobs.handler(REMIND_JOB)
    async def remind_job(payload: dict[str, Any]) -> None:
        if payload.get("signer_id"):
            signer = (
                await Signer.objects().where(Signer.id == uuid.UUID(payload["signer_id"])).first()
            )
            if signer is None:
                return
            env_id = signer.envelope
        else:
            env_id = uuid.UUID(payload["envelope_id"])
        env = await Envelope.objects().where(Envelope.id == env_id).first()
        if env is None or env.status != "sent" or env.expires_at <= utcnow():
            return
        signers = list(await Signer.objects().where(Signer.envelope == env.id))
        targets = _turn(signers)
        if payload.get("signer_id"):
            targets = [s for s in targets if str(s.id) == payload["signer_id"]]
        for signer in targets:
            await _send_reminder(signer, env, settings, sms)

    @jobs.handler(NOTICE_JOB)
    async def notice_job(payload: dict[str, Any]) -> None:
        signer = await Signer.objects().where(Signer.id == uuid.UUID(payload["signer_id"])).first()
        if signer is None:
            return
        receipt = await sms.send(unseal(signer.phone_sealed), payload["text"])
        async with transaction():
            await append_event(
                signer.envelope,
                kinds.SIGNER_NOTIFIED,
                data={
                    "signer": str(signer.id),
                    "to": signer.phone_masked,
                    "notice": True,
                    "provider": receipt.provider,
                    "message_id": receipt.message_id,
                },
            )
