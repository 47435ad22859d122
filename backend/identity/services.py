"""The intent check at signing time: a 6-digit SMS code bound to one signer."""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from backend.config import Settings
from backend.database import transaction, utcnow
from backend.i18n import N_
from backend.identity.tables import OtpChallenge
from backend.keys import keyed_token
from backend.notify import messages
from backend.notify.sms import SmsProvider

CODES_PER_HOUR = 5


@dataclass(frozen=True)
class CodeSent:
    ok: bool
    message: str = ""
    retry_after: int = 0
    message_id: str = ""
    provider: str = ""


@dataclass(frozen=True)
class CodeCheck:
    ok: bool
    message: str = ""
    tries_left: int = 0
    locked: bool = False


def _code_hash(challenge_id: uuid.UUID, code: str) -> str:
    return keyed_token("signlink/otp/v1", f"{challenge_id}:{code}", length=43)


async def send_intent_code(
    signer_id: uuid.UUID,
    phone: str,
    settings: Settings,
    sms: SmsProvider,
    purpose: str = "intent",
) -> CodeSent:
    """A new SMS code for ``purpose`` ("intent": to confirm signing; "batch-access": to see
    the phone's other waiting documents). Each purpose has its own codes and resend wait."""
    now = utcnow()
    mine = (OtpChallenge.signer == signer_id) & (OtpChallenge.purpose == purpose)
    recent = (
        await OtpChallenge.select(OtpChallenge.sent_at)
        .where(mine & (OtpChallenge.sent_at > now - timedelta(hours=1)))
        .order_by(OtpChallenge.sent_at, ascending=False)
    )
    if recent:
        wait = settings.otp_resend_seconds - int((now - recent[0]["sent_at"]).total_seconds())
        if wait > 0:
            wait_text = N_("验证码已发送，请 %(wait)s 秒后再重新获取。") % {"wait": wait}
            return CodeSent(False, wait_text, retry_after=wait)
    if len(recent) >= CODES_PER_HOUR:
        return CodeSent(False, N_("获取验证码过于频繁，请一小时后再试。"), retry_after=3600)

    code = f"{secrets.randbelow(1_000_000):06d}"
    challenge_id = uuid.uuid4()
    receipt = await sms.send(
        phone, messages.intent_code(settings.sms_sign_name, code, settings.otp_ttl_seconds // 60)
    )
    async with transaction():
        # A new code replaces every earlier one.
        await OtpChallenge.update({OtpChallenge.consumed_at: now}).where(
            mine & OtpChallenge.consumed_at.is_null()
        )
        await OtpChallenge.insert(
            OtpChallenge(
                id=challenge_id,
                signer=signer_id,
                purpose=purpose,
                code_hash=_code_hash(challenge_id, code),
                sent_at=now,
                expires_at=now + timedelta(seconds=settings.otp_ttl_seconds),
            )
        )
    return CodeSent(True, message_id=receipt.message_id, provider=receipt.provider)


async def verify_intent_code(
    signer_id: uuid.UUID, code: str, settings: Settings, purpose: str = "intent"
) -> CodeCheck:
    code = code.strip()
    challenge = (
        await OtpChallenge.objects()
        .where(
            (OtpChallenge.signer == signer_id)
            & (OtpChallenge.purpose == purpose)
            & OtpChallenge.consumed_at.is_null()
        )
        .order_by(OtpChallenge.sent_at, ascending=False)
        .first()
    )
    if challenge is None:
        return CodeCheck(False, N_("请先获取短信验证码。"))
    max_tries = settings.otp_max_attempts
    if challenge.attempts >= max_tries:
        return CodeCheck(False, N_("验证码错误次数过多，已失效，请重新获取验证码。"), locked=True)
    if utcnow() > challenge.expires_at:
        return CodeCheck(False, N_("验证码已过期，请重新获取。"))
    if not (len(code) == 6 and code.isdigit()):
        return CodeCheck(
            False, N_("请输入短信中的 6 位数字验证码。"), tries_left=max_tries - challenge.attempts
        )
    still_open = (OtpChallenge.id == challenge.id) & (OtpChallenge.attempts < max_tries)
    if hmac.compare_digest(challenge.code_hash, _code_hash(challenge.id, code)):
        won = (
            await OtpChallenge.update({OtpChallenge.consumed_at: utcnow()})
            .where(still_open & OtpChallenge.consumed_at.is_null())
            .returning(OtpChallenge.id)
        )
        return CodeCheck(True) if won else CodeCheck(False, N_("验证码已失效，请重新获取。"))
    # Counted in the database, so parallel guesses cannot exceed the limit.
    counted = (
        await OtpChallenge.update({OtpChallenge.attempts: OtpChallenge.attempts + 1})
        .where(still_open)
        .returning(OtpChallenge.attempts)
    )
    left = max_tries - counted[0]["attempts"] if counted else 0
    if left <= 0:
        return CodeCheck(False, N_("验证码错误次数过多，已失效，请重新获取验证码。"), locked=True)
    wrong = N_("验证码错误，还可尝试 %(left)s 次。") % {"left": left}
    return CodeCheck(False, wrong, tries_left=left)
