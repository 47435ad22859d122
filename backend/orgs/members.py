"""Organisation members: added by an admin (API key), log in on a phone with an SMS code.

The login code has its own purpose and table (not the signer's intent code): 6 digits,
5 minutes, 5 tries, one resend a minute, 5 an hour per phone. Asking for a code never
reveals whether the phone belongs to a member. A login opens a session (cookie) of
``member_session_hours``.
"""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from backend.config import Settings
from backend.database import transaction, utcnow
from backend.errors import AppError, FieldProblem, validation_error
from backend.i18n import N_
from backend.keys import keyed_token, mask_phone, seal, sha256_hex, unseal
from backend.notify import messages
from backend.notify.sms import SmsProvider
from backend.orgs.services import Caller
from backend.orgs.tables import Member, MemberCode, MemberSession, Organisation

# verifier: works the manual identity-review queue (/app/reviews) and sees its ID photos.
ROLES = ("admin", "sender", "stamper", "reviewer", "verifier")
ROLE_LABELS = {"admin": "管理员", "sender": "发起人", "stamper": "用印人", "reviewer": "查阅人",
               "verifier": "实名审核人"}  # fmt: skip
SESSION_COOKIE = "sl_member"
CODES_PER_HOUR = 5
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


@dataclass(frozen=True)
class MemberContext:
    """The member behind a session, as the phone pages need it."""

    member_id: uuid.UUID
    name: str
    organisation_id: uuid.UUID
    organisation_name: str
    roles: frozenset[str]

    def may(self, role: str) -> bool:
        return "admin" in self.roles or role in self.roles

    def caller(self) -> Caller:
        """Acting for the organisation, as an API key would (the audit names the member)."""
        return Caller(
            organisation_id=self.organisation_id,
            organisation_name=self.organisation_name,
            api_key_id=self.member_id,
        )


def phone_hash(phone: str) -> str:
    return keyed_token("signlink/member-phone/v1", phone, length=43)


def clean_phone(raw: str, field: str = "phone") -> str:
    phone = re.sub(r"[\s-]", "", raw or "").removeprefix("+86")
    if not _MOBILE.match(phone):
        raise validation_error(
            [
                FieldProblem(
                    field,
                    "请填写 11 位中国大陆手机号，如 13800138000。",
                    "Enter an 11-digit mainland China mobile number.",
                )
            ]
        )
    return phone


async def add_member(caller: Caller, name: str, phone: str, roles: list[str]) -> Member:
    problems = []
    name = " ".join(name.split())
    if not 1 <= len(name) <= 50:
        problems.append(FieldProblem("name", "请填写姓名（1–50 个字）。", "Name: 1–50 chars."))
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        problems.append(
            FieldProblem(
                "roles",
                f"角色应为：{'、'.join(ROLES)}。",
                f"roles must be some of: {', '.join(ROLES)}.",
            )
        )
    if problems:
        raise validation_error(problems)
    phone = clean_phone(phone)
    existing = await Member.exists().where(
        (Member.organisation == caller.organisation_id)
        & (Member.phone_hash == phone_hash(phone))
        & Member.disabled_at.is_null()
    )
    if existing:
        raise AppError("member_exists", "该手机号已是本机构成员。", "Already a member.", 409)
    member = Member(
        id=uuid.uuid4(),
        organisation=caller.organisation_id,
        name=name,
        phone_hash=phone_hash(phone),
        phone_sealed=seal(phone),
        phone_masked=mask_phone(phone),
        roles=",".join(sorted(set(roles))),
        created_at=utcnow(),
    )
    await Member.insert(member)
    return member


async def list_members(organisation_id: uuid.UUID) -> list[Member]:
    return list(
        await Member.objects()
        .where((Member.organisation == organisation_id) & Member.disabled_at.is_null())
        .order_by(Member.created_at)
    )


def _code_hash(code_id: uuid.UUID, code: str) -> str:
    return keyed_token("signlink/member-code/v1", f"{code_id}:{code}", length=43)


async def send_login_code(raw_phone: str, settings: Settings, sms: SmsProvider) -> str:
    """Send a code if the phone belongs to a member; the answer is the same either way."""
    phone = clean_phone(raw_phone)
    code = await _new_code(phone_hash(phone), "login", settings)
    if await Member.exists().where(
        (Member.phone_hash == phone_hash(phone)) & Member.disabled_at.is_null()
    ):
        text = messages.member_login_code(
            settings.sms_sign_name, code, settings.otp_ttl_seconds // 60
        )
        await sms.send(phone, text)
    return N_("如该手机号已加入机构，验证码已发送，请查收短信。")


async def send_stamp_code(
    ctx: MemberContext, count: int, settings: Settings, sms: SmsProvider
) -> None:
    """The intent check before stamping ``count`` documents: a code to the member's phone."""
    member = await Member.objects().where(Member.id == ctx.member_id).first()
    if member is None:
        raise AppError("not_found", "成员不存在。", "No such member.", 404)
    code = await _new_code(member.phone_hash, "stamp", settings)
    await sms.send(
        unseal(member.phone_sealed),
        messages.stamp_code(settings.sms_sign_name, code, count, settings.otp_ttl_seconds // 60),
    )


async def _new_code(hashed: str, purpose: str, settings: Settings) -> str:
    now = utcnow()
    mine = (MemberCode.phone_hash == hashed) & (MemberCode.purpose == purpose)
    recent = (
        await MemberCode.select(MemberCode.sent_at)
        .where(mine & (MemberCode.sent_at > now - timedelta(hours=1)))
        .order_by(MemberCode.sent_at, ascending=False)
    )
    if recent:
        wait = settings.otp_resend_seconds - int((now - recent[0]["sent_at"]).total_seconds())
        if wait > 0:
            raise AppError("otp_rate_limited", f"验证码已发送，请 {wait} 秒后再试。", "Wait.", 429)
    if len(recent) >= CODES_PER_HOUR:
        raise AppError("otp_rate_limited", "获取验证码过于频繁，请一小时后再试。", "Wait.", 429)
    code = f"{secrets.randbelow(1_000_000):06d}"
    code_id = uuid.uuid4()
    async with transaction():
        await MemberCode.update({MemberCode.consumed_at: now}).where(
            mine & MemberCode.consumed_at.is_null()
        )
        await MemberCode.insert(
            MemberCode(
                id=code_id,
                phone_hash=hashed,
                purpose=purpose,
                code_hash=_code_hash(code_id, code),
                sent_at=now,
                expires_at=now + timedelta(seconds=settings.otp_ttl_seconds),
            )
        )
    return code


async def check_code(hashed: str, purpose: str, code: str, settings: Settings) -> None:
    """Consume the latest code of ``purpose`` if ``code`` matches; AppError otherwise."""
    wrong = AppError("code_invalid", "验证码错误或已过期，请重新获取。", "Wrong or expired code.")
    challenge = (
        await MemberCode.objects()
        .where(
            (MemberCode.phone_hash == hashed)
            & (MemberCode.purpose == purpose)
            & MemberCode.consumed_at.is_null()
        )
        .order_by(MemberCode.sent_at, ascending=False)
        .first()
    )
    if (
        challenge is None
        or challenge.attempts >= settings.otp_max_attempts
        or utcnow() > challenge.expires_at
    ):
        raise wrong
    if not hmac.compare_digest(challenge.code_hash, _code_hash(challenge.id, code.strip())):
        await MemberCode.update({MemberCode.attempts: MemberCode.attempts + 1}).where(
            MemberCode.id == challenge.id
        )
        raise wrong
    won = (
        await MemberCode.update({MemberCode.consumed_at: utcnow()})
        .where((MemberCode.id == challenge.id) & MemberCode.consumed_at.is_null())
        .returning(MemberCode.id)
    )
    if not won:
        raise wrong


async def log_in(raw_phone: str, code: str, settings: Settings) -> tuple[str, MemberContext]:
    """Check the code; a new session token (for the cookie) and who logged in."""
    phone = clean_phone(raw_phone)
    hashed = phone_hash(phone)
    await check_code(hashed, "login", code, settings)
    member = (
        await Member.objects()
        .where((Member.phone_hash == hashed) & Member.disabled_at.is_null())
        .order_by(Member.created_at)
        .first()
    )
    if member is None:
        raise AppError("code_invalid", "验证码错误或已过期，请重新获取。", "Wrong or expired code.")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    await MemberSession.insert(
        MemberSession(
            id=uuid.uuid4(),
            member=member.id,
            token_hash=sha256_hex(token),
            created_at=now,
            expires_at=now + timedelta(hours=settings.member_session_hours),
        )
    )
    context = await _context(member)
    assert context is not None
    return token, context


async def _context(member: Member) -> MemberContext | None:
    org = (
        await Organisation.select(Organisation.name)
        .where(Organisation.id == member.organisation)
        .first()
    )
    if org is None:
        return None
    return MemberContext(
        member_id=member.id,
        name=member.name,
        organisation_id=member.organisation,
        organisation_name=org["name"],
        roles=frozenset(r for r in member.roles.split(",") if r),
    )


async def from_session(token: str | None) -> MemberContext | None:
    if not token or len(token) > 100:
        return None
    session = (
        await MemberSession.objects()
        .where((MemberSession.token_hash == sha256_hex(token)) & MemberSession.revoked_at.is_null())
        .first()
    )
    if session is None or utcnow() > session.expires_at:
        return None
    member = (
        await Member.objects()
        .where((Member.id == session.member) & Member.disabled_at.is_null())
        .first()
    )
    return await _context(member) if member else None


async def log_out(token: str | None) -> None:
    if token:
        await MemberSession.update({MemberSession.revoked_at: utcnow()}).where(
            MemberSession.token_hash == sha256_hex(token)
        )
