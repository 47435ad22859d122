"""Real-name verification of a signer: identity details, a method, the provider's answer.

Which methods satisfy which required level (the signer's ``identity_level``):

=========  ==========================================
required   accepted
=========  ==========================================
phone3     phone3, bank4, face, manual review
bank4      bank4, face, manual review
face       face, manual review
=========  ==========================================

A stronger check always satisfies a weaker requirement; manual review is the fallback of
every level (the organisation's own reviewer decides). Passports and Hong Kong / Macau /
Taiwan permits can only be reviewed manually: the 3- and 4-factor sources cover mainland
ID cards only. Phone 3-factor always checks the signer's phone from the envelope.

Order of a paid check: input checks (no cost) → SMS code to the mobile being verified →
rate limits (per envelope, per phone, per IP; counted in the database so every process
shares them) → the provider, with retries on transient errors → the result, recorded
with the provider's request id in the same transaction as its audit event.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from backend.config import Settings
from backend.database import transaction, utcnow
from backend.envelopes.services import SignerContext, record_identity
from backend.evidence.services import append_event
from backend.i18n import N_
from backend.identity import checks
from backend.identity.providers import CheckResult, IdentityProvider, ProviderError
from backend.identity.tables import (
    IdentityCheck,
    IdentityClaim,
    IdentityCode,
    VerifiedIdentity,
)
from backend.keys import keyed_token, mask_phone, seal, unseal
from backend.notify.sms import SmsError, SmsProvider

logger = logging.getLogger("signlink.identity")

ACCEPTED: dict[str, tuple[str, ...]] = {
    "phone3": ("phone3", "bank4", "face", "manual"),
    "bank4": ("bank4", "face", "manual"),
    "face": ("face", "manual"),
}
METHOD_LABELS = {
    "phone3": N_("手机号三要素认证"),
    "bank4": N_("银行卡四要素认证"),
    "face": N_("刷脸认证"),
    "manual": N_("人工审核"),
}
#: The methods answered by a paid provider call after an SMS code (face has its own step).
PAID_METHODS = ("phone3", "bank4")
CODE_TTL = timedelta(minutes=5)
CODE_TRIES = 5
#: Identity SMS codes one envelope may cause in an hour, whatever mobiles they go to: the
#: bank-card form takes any mobile, so this stops one link from texting a list of numbers.
CODES_PER_ENVELOPE = 10
BUSY = N_("认证服务繁忙，请稍后重试；也可以换用其他认证方式。")
_NOT_FOR_THIS_SIGNING = N_("该认证方式不适用于本次签署，请选择其他方式。")


# ------------------------------------------------------------------ keyed hashes


def _hash(kind: str, value: str) -> str:
    return keyed_token(f"signlink/identity/{kind}/v1", value, length=43)


def id_hash(id_type: str, number: str) -> str:
    return _hash("id", f"{id_type}:{number}")


def phone_hash(mobile: str) -> str:
    return _hash("phone", mobile)


def ip_hash(ip: str) -> str:
    return _hash("ip", ip or "-")


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class Attempt:
    """What the signer sees after submitting a method.

    outcome: match | mismatch | no_record | error | limited | code | invalid
    """

    outcome: str
    message: str = ""
    field: str = ""
    request_id: str = ""

    @property
    def passed(self) -> bool:
        return self.outcome == "match"

    @property
    def is_result(self) -> bool:
        """A verdict (or its absence) worth a result page, not a form correction."""
        return self.outcome in {"mismatch", "no_record", "error", "limited"}


class InvalidInput(Exception):
    def __init__(self, problems: list[checks.Problem]) -> None:
        super().__init__("invalid identity input")
        self.problems = problems


@dataclass(frozen=True)
class Claim:
    name: str
    id_type: str
    id_number: str
    id_masked: str
    id_hash: str


def methods_for(level: str, id_type: str) -> list[str]:
    if id_type != "id_card":
        return ["manual"] if level in ACCEPTED else []
    return list(ACCEPTED.get(level, ()))


def accepts(level: str, method: str) -> bool:
    return method in ACCEPTED.get(level, ())


# ------------------------------------------------------------------ step 1


async def load_claim(signer_id: uuid.UUID) -> Claim | None:
    row = await IdentityClaim.objects().where(IdentityClaim.signer == signer_id).first()
    if row is None:
        return None
    return Claim(row.name, row.id_type, unseal(row.id_sealed), row.id_masked, row.id_hash)


async def save_claim(
    ctx: SignerContext, *, name: str, id_type: str, id_number: str, settings: Settings
) -> bool:
    """Store step 1. Returns True when a recent verification of this person was reused."""
    # The name is the one the sender entered for this signer (契约锁 and e签宝 lock it too):
    # a different person must not take over the signing link.
    expected = checks.normalise_name(ctx.signer.name)
    name = checks.normalise_name(name) or expected
    problems: list[checks.Problem] = []
    if id_type not in checks.ID_TYPES:
        problems.append(checks.Problem("id_type", N_("请选择证件类型。")))
        id_type = "id_card"
    if name != expected:
        problems.append(
            checks.Problem(
                "name", N_("姓名须与发起方填写的签署人姓名一致；如有误，请联系发起方修改。")
            )
        )
    elif id_type == "id_card" and (bad := checks.check_name(name)):
        problems.append(bad)
    number = checks.normalise_id_number(id_number)
    bad_number = (
        checks.check_id_number(number)
        if id_type == "id_card"
        else checks.check_other_document(number)
    )
    if bad_number:
        problems.append(bad_number)
    hashed = id_hash(id_type, number)
    named = "" if problems else contract_id_hash(ctx)
    if named and not hmac.compare_digest(named, hashed):
        problems.append(_not_the_contract_id(id_type))
    if problems:
        raise InvalidInput(problems)

    now = utcnow()
    masked = checks.mask_number(number)
    async with transaction():
        await IdentityClaim.delete().where(IdentityClaim.signer == ctx.signer.id)
        await IdentityClaim.insert(
            IdentityClaim(
                id=uuid.uuid4(),
                signer=ctx.signer.id,
                name=name,
                id_type=id_type,
                id_sealed=seal(number),
                id_hash=hashed,
                id_masked=masked,
                updated_at=now,
            )
        )
        await append_event(
            ctx.envelope.id,
            "identity.claimed",
            actor=ctx.signer.role,
            data={"signer": str(ctx.signer.id), "id_type": id_type, "id_masked": masked},
        )
    if id_type == "id_card":
        return await _reuse(ctx, name, hashed, masked, settings)
    return False


def contract_id_hash(ctx: SignerContext) -> str:
    """Keyed hash of the ID number the contract names for this signer's role, or ''.

    Templates name a party's number as ``<role>.id_number`` (car purchase
    ``buyer.id_number``, lease ``lessee.id_number`` / ``guarantor.id_number``); the
    signer proving identity must be that person, not whoever holds the link.
    """
    try:
        data = json.loads(unseal(ctx.envelope.data_sealed))
    except (ValueError, TypeError):
        return ""
    party = data.get(ctx.signer.role) if isinstance(data, dict) else None
    number = party.get("id_number") if isinstance(party, dict) else None
    if not isinstance(number, str) or not number.strip():
        return ""
    return id_hash("id_card", checks.normalise_id_number(number))


def _not_the_contract_id(id_type: str) -> checks.Problem:
    if id_type != "id_card":
        return checks.Problem(
            "id_number",
            N_(
                "合同中已登记您的居民身份证号，请选择“居民身份证”并填写该号码；"
                "如登记有误，请联系发起方修改合同。"
            ),
        )
    return checks.Problem(
        "id_number",
        N_(
            "身份证号与合同中登记的签署人身份证号不一致，请核对；如合同登记有误，请联系发起方修改。"
        ),
    )


async def _reuse(
    ctx: SignerContext, name: str, hashed: str, masked: str, settings: Settings
) -> bool:
    """The same person (ID number, name, phone of this link) passed recently: no new fee."""
    if settings.identity_reuse_days <= 0:
        return False
    since = utcnow() - timedelta(days=settings.identity_reuse_days)
    phone = phone_hash(unseal(ctx.signer.phone_sealed))
    found = (
        await VerifiedIdentity.objects()
        .where(
            (VerifiedIdentity.id_hash == hashed)
            & (VerifiedIdentity.phone_hash == phone)
            & (VerifiedIdentity.verified_at > since)
        )
        .order_by(VerifiedIdentity.verified_at, ascending=False)
    )
    for row in found:
        if row.name == name and accepts(ctx.signer.identity_level, row.method):
            await record_identity(
                ctx,
                method=row.method,
                provider=row.provider,
                request_id=row.provider_request_id,
                detail={
                    "reused": True,
                    "reused_from": str(row.id),
                    "originally_verified_at": row.verified_at.isoformat(),
                    "id_masked": masked,
                },
            )
            return True
    return False


# ------------------------------------------------------------------ SMS codes


@dataclass(frozen=True)
class CodeSent:
    ok: bool
    message: str = ""
    retry_after: int = 0


def _code_hash(code_id: uuid.UUID, code: str) -> str:
    return keyed_token("signlink/identity-code/v1", f"{code_id}:{code}", length=43)


def identity_code_text(sign_name: str, code: str, minutes: int) -> str:
    return (
        f"【{sign_name}】您正在进行签署前实名认证，验证码为{code}，"
        f"{minutes}分钟内有效，请勿泄露给他人。"
    )


async def send_code(
    ctx: SignerContext,
    method: str,
    mobile: str,
    settings: Settings,
    sms: SmsProvider,
    ip: str,
) -> CodeSent:
    """An SMS code to the mobile being verified (the envelope phone for phone3)."""
    if bad := checks.check_mobile(mobile):
        return CodeSent(False, bad.message)
    now = utcnow()
    phone = phone_hash(mobile)
    code = f"{secrets.randbelow(1_000_000):06d}"
    code_id = uuid.uuid4()
    async with transaction():
        last = (
            await IdentityCode.select(IdentityCode.sent_at)
            .where(IdentityCode.signer == ctx.signer.id)
            .order_by(IdentityCode.sent_at, ascending=False)
            .first()
        )
        if last is not None:
            wait = settings.otp_resend_seconds - int((now - last["sent_at"]).total_seconds())
            if wait > 0:
                wait_text = N_("验证码已发送，请 %(wait)s 秒后再重新获取。") % {"wait": wait}
                return CodeSent(False, wait_text, wait)
        hour = now - timedelta(hours=1)
        per_phone = await IdentityCode.count().where(
            (IdentityCode.phone_hash == phone) & (IdentityCode.sent_at > hour)
        )
        per_ip = await IdentityCode.count().where(
            (IdentityCode.ip_hash == ip_hash(ip)) & (IdentityCode.sent_at > hour)
        )
        per_envelope = await IdentityCode.count().where(
            (IdentityCode.signer.envelope == ctx.envelope.id) & (IdentityCode.sent_at > hour)
        )
        if (
            per_phone >= settings.identity_codes_per_phone
            or per_ip >= settings.identity_checks_per_ip
            or per_envelope >= CODES_PER_ENVELOPE
        ):
            return CodeSent(False, N_("获取验证码过于频繁，请一小时后再试。"), 3600)
        await IdentityCode.update({IdentityCode.consumed_at: now}).where(
            (IdentityCode.signer == ctx.signer.id) & IdentityCode.consumed_at.is_null()
        )
        await IdentityCode.insert(
            IdentityCode(
                id=code_id,
                signer=ctx.signer.id,
                method=method,
                phone_hash=phone,
                ip_hash=ip_hash(ip),
                code_hash=_code_hash(code_id, code),
                sent_at=now,
                expires_at=now + CODE_TTL,
            )
        )
    # Recorded first, so parallel requests cannot slip past the limits; then sent.
    minutes = int(CODE_TTL.total_seconds() // 60)
    try:
        receipt = await sms.send(mobile, identity_code_text(settings.sms_sign_name, code, minutes))
    except SmsError:
        await IdentityCode.update({IdentityCode.consumed_at: utcnow()}).where(
            IdentityCode.id == code_id
        )
        return CodeSent(False, N_("短信发送失败，请稍后重试。"))
    async with transaction():
        await append_event(
            ctx.envelope.id,
            "identity.code_sent",
            actor=ctx.signer.role,
            data={
                "signer": str(ctx.signer.id),
                "method": method,
                "to": mask_phone(mobile),
                "provider": receipt.provider,
                "message_id": receipt.message_id,
            },
        )
    return CodeSent(True, retry_after=settings.otp_resend_seconds)


async def _check_code(ctx: SignerContext, method: str, mobile: str, code: str) -> str:
    """'' when the code is right (and now used up), else what to tell the signer."""
    code = code.strip()
    row = (
        await IdentityCode.objects()
        .where(
            (IdentityCode.signer == ctx.signer.id)
            & (IdentityCode.method == method)
            & IdentityCode.consumed_at.is_null()
        )
        .order_by(IdentityCode.sent_at, ascending=False)
        .first()
    )
    if row is None or row.phone_hash != phone_hash(mobile):
        return N_("请先获取发送到该手机号的短信验证码。")
    if row.attempts >= CODE_TRIES:
        return N_("验证码错误次数过多，已失效，请重新获取。")
    if utcnow() > row.expires_at:
        return N_("验证码已过期，请重新获取。")
    still_open = (IdentityCode.id == row.id) & (IdentityCode.attempts < CODE_TRIES)
    if (
        len(code) == 6
        and code.isdigit()
        and hmac.compare_digest(row.code_hash, _code_hash(row.id, code))
    ):
        won = (
            await IdentityCode.update({IdentityCode.consumed_at: utcnow()})
            .where(still_open & IdentityCode.consumed_at.is_null())
            .returning(IdentityCode.id)
        )
        return "" if won else N_("验证码已失效，请重新获取。")
    counted = (
        await IdentityCode.update({IdentityCode.attempts: IdentityCode.attempts + 1})
        .where(still_open)
        .returning(IdentityCode.attempts)
    )
    left = CODE_TRIES - counted[0]["attempts"] if counted else 0
    if left <= 0:
        return N_("验证码错误次数过多，已失效，请重新获取。")
    return N_("验证码错误，还可尝试 %(left)s 次。") % {"left": left}


# ------------------------------------------------------------------ paid checks


_PHONE3_MISMATCH = {
    "202": N_("该手机号不是用此身份证号实名登记的，请确认手机号为您本人身份证办理。"),
    "203": N_("该手机号登记的姓名与您的姓名不一致。"),
}
# BankMetaVerify SubCodes (BizCode 2). 201 (holder details wrong) takes the general text.
_BANK4_MISMATCH = {
    "202": N_("该银行卡未开通认证支付，请联系发卡行开通或换一张银行卡。"),
    "203": N_("该银行卡已过期，请换一张银行卡。"),
    "204": N_("该银行卡为受限制的卡，请换一张银行卡。"),
    "210": N_("该银行卡已挂失，请换一张银行卡。"),
    "214": N_("该银行卡未预留手机号，请换一张银行卡。"),
}
# BizCode 3 (the bank cannot verify): 304 is the one the signer can fix.
_BANK4_NO_RECORD = {
    "304": N_("银行卡号有误，请核对卡号后重试。"),
}


def _message(method: str, result: CheckResult) -> str:
    if result.outcome == "mismatch":
        if method == "phone3":
            return _PHONE3_MISMATCH.get(
                result.sub_code,
                N_("手机号、姓名与身份证号不一致，请确认该手机号是用您本人身份证实名办理的。"),
            )
        return _BANK4_MISMATCH.get(
            result.sub_code,
            N_("银行卡号、姓名、身份证号与银行预留手机号不一致，请核对后重试。"),
        )
    if method == "phone3":
        return N_(
            "运营商未查到该手机号的实名信息（如新开号码、虚拟运营商号码），"
            "请换用银行卡认证或人工审核。"
        )
    return _BANK4_NO_RECORD.get(
        result.sub_code,
        N_("该银行卡暂时无法验证（发卡行不支持或未查到记录），请换一张银行卡或使用其他认证方式。"),
    )


async def _limited(ctx: SignerContext, phone: str, ip: str, settings: Settings) -> bool:
    """Called inside the transaction that records the attempt."""
    now = utcnow()
    day = now - timedelta(hours=24)
    per_envelope = await IdentityCheck.count().where(
        (IdentityCheck.envelope == ctx.envelope.id) & (IdentityCheck.created_at > day)
    )
    per_phone = await IdentityCheck.count().where(
        (IdentityCheck.phone_hash == phone) & (IdentityCheck.created_at > day)
    )
    per_ip = await IdentityCheck.count().where(
        (IdentityCheck.ip_hash == ip_hash(ip))
        & (IdentityCheck.created_at > now - timedelta(hours=1))
    )
    return (
        per_envelope >= settings.identity_checks_per_envelope
        or per_phone >= settings.identity_checks_per_phone
        or per_ip >= settings.identity_checks_per_ip
    )


async def _paid_check(
    ctx: SignerContext,
    *,
    method: str,
    claim: Claim,
    mobile: str,
    card: str,
    provider: IdentityProvider,
    settings: Settings,
    ip: str,
) -> Attempt:
    check_id = uuid.uuid4()
    phone = phone_hash(mobile)
    card_masked = checks.mask_number(card) if card else ""
    base: dict[str, Any] = {
        "signer": str(ctx.signer.id),
        "method": method,
        "provider": provider.name,
    }
    async with transaction():
        if await _limited(ctx, phone, ip, settings):
            await append_event(
                ctx.envelope.id, "identity.rate_limited", actor=ctx.signer.role, data=base
            )
            return Attempt("limited", N_("认证尝试次数过多，请稍后再试，或选择人工审核。"))
        await IdentityCheck.insert(
            IdentityCheck(
                id=check_id,
                signer=ctx.signer.id,
                envelope=ctx.envelope.id,
                method=method,
                provider=provider.name,
                id_hash=claim.id_hash,
                phone_hash=phone,
                ip_hash=ip_hash(ip),
                card_masked=card_masked,
                card_hash=_hash("card", card) if card else "",
                created_at=utcnow(),
            )
        )
    # Several retries may run inside; a hung worker thread must not hold the page forever.
    budget = settings.aliyun_timeout_seconds * (settings.aliyun_max_retries + 1) + 5
    try:
        if method == "phone3":
            call = provider.verify_phone3(claim.name, claim.id_number, mobile)
        else:
            call = provider.verify_bank4(claim.name, claim.id_number, card, mobile)
        result: CheckResult | None = await asyncio.wait_for(call, timeout=budget)
        error = None
    except ProviderError as exc:
        result, error = None, exc
    except TimeoutError:
        result, error = None, ProviderError("Timeout", transient=True)
    except Exception as exc:  # whatever broke, it is not a pass
        logger.error("identity provider failed", extra={"fields": {"error": type(exc).__name__}})
        result, error = None, ProviderError("Unexpected", transient=False)

    outcome = result.outcome if result else "error"
    request_id = result.request_id if result else (error.request_id if error else "")
    sub_code = result.sub_code if result else (error.code if error else "")
    now = utcnow()
    async with transaction():
        await IdentityCheck.update(
            {
                IdentityCheck.outcome: outcome,
                IdentityCheck.sub_code: sub_code[:64],
                IdentityCheck.provider_request_id: request_id[:100],
                IdentityCheck.finished_at: now,
            }
        ).where(IdentityCheck.id == check_id)
        await append_event(
            ctx.envelope.id,
            "identity.checked",
            actor=ctx.signer.role,
            data={
                **base,
                "check": str(check_id),
                "outcome": outcome,
                "sub_code": sub_code,
                "provider_request_id": request_id,
                "id_masked": claim.id_masked,
                "mobile": mask_phone(mobile),
                **({"card_masked": card_masked} if card else {}),
            },
        )
        if result is not None and result.outcome == "match":
            await VerifiedIdentity.insert(
                VerifiedIdentity(
                    id=uuid.uuid4(),
                    id_hash=claim.id_hash,
                    name=claim.name,
                    # The mobile this check verified (bank4: the card's reserved one):
                    # reuse needs a later envelope's phone to be that mobile.
                    phone_hash=phone,
                    method=method,
                    provider=result.provider,
                    provider_request_id=request_id,
                    verified_at=now,
                )
            )
    if error is not None:
        logger.warning(
            "identity provider error",
            extra={"fields": {"code": error.code, "method": method, "check": str(check_id)}},
        )
        return Attempt("error", BUSY, request_id=request_id)
    assert result is not None
    if result.outcome != "match":
        return Attempt(result.outcome, _message(method, result), request_id=request_id)
    await record_identity(
        ctx,
        method=method,
        provider=result.provider,
        request_id=request_id,
        detail={"check": str(check_id), "id_masked": claim.id_masked, **result.detail},
    )
    return Attempt("match", request_id=request_id)


async def _claim_for(ctx: SignerContext, method: str) -> Claim | Attempt:
    claim = await load_claim(ctx.signer.id)
    if claim is None:
        return Attempt("invalid", N_("请先填写身份信息。"), field="claim")
    if method not in methods_for(ctx.signer.identity_level, claim.id_type):
        return Attempt("invalid", _NOT_FOR_THIS_SIGNING, field="method")
    return claim


@dataclass(frozen=True)
class Factors:
    """What a method form adds to the claim: for bank4 the card and its reserved mobile.

    Phone 3-factor adds nothing: it always verifies the envelope's phone.
    """

    card: str = ""
    mobile: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> Factors:
        # Bounded: these are echoed back into the form when something is wrong.
        return cls(
            checks.normalise_digits(form.get("card", ""))[:40],
            checks.normalise_digits(form.get("mobile", ""))[:40],
        )


def _mobile(ctx: SignerContext, method: str, factors: Factors) -> str:
    """The mobile being verified (and receiving the code)."""
    return unseal(ctx.signer.phone_sealed) if method == "phone3" else factors.mobile


def factor_problems(method: str, factors: Factors) -> list[checks.Problem]:
    if method != "bank4":
        return []
    found = (checks.check_bank_card(factors.card), checks.check_mobile(factors.mobile))
    return [p for p in found if p]


async def send_method_code(
    ctx: SignerContext,
    method: str,
    factors: Factors,
    settings: Settings,
    sms: SmsProvider,
    ip: str,
) -> CodeSent:
    """The SMS code of a paid method, once its own fields are valid (no SMS for a bad card)."""
    if problems := factor_problems(method, factors):
        return CodeSent(False, problems[0].message)
    return await send_code(ctx, method, _mobile(ctx, method, factors), settings, sms, ip)


async def verify(
    ctx: SignerContext,
    method: str,
    factors: Factors,
    code: str,
    provider: IdentityProvider,
    settings: Settings,
    ip: str,
) -> Attempt:
    """Phone 3-factor or bank-card 4-factor: input checks, the SMS code, then the paid call."""
    if method not in PAID_METHODS:
        return Attempt("invalid", _NOT_FOR_THIS_SIGNING, field="method")
    claim = await _claim_for(ctx, method)
    if isinstance(claim, Attempt):
        return claim
    if problems := factor_problems(method, factors):
        return Attempt("invalid", problems[0].message, field=problems[0].field)
    mobile = _mobile(ctx, method, factors)
    if wrong := await _check_code(ctx, method, mobile, code):
        return Attempt("code", wrong, field="code")
    return await _paid_check(
        ctx,
        method=method,
        claim=claim,
        mobile=mobile,
        card=factors.card,
        provider=provider,
        settings=settings,
        ip=ip,
    )
