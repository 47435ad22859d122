"""Envelope rules: creation from a template, whose turn it is, reading, intent, signing."""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from piccolo.table import Table

from backend import documents, signing
from backend.config import Settings
from backend.database import (
    convert_stored,
    fetch,
    fetch_point,
    fetch_point_raw,
    stored_converters,
    transaction,
    utcnow,
)
from backend.envelopes import milestones, schemas
from backend.envelopes.tables import DocumentRevision, Envelope, PageImage, Signer
from backend.errors import AppError, FieldProblem, validation_error
from backend.evidence import kinds
from backend.evidence import services as evidence
from backend.evidence.services import append_event
from backend.identity import services as identity
from backend.jobs import services as jobs
from backend.keys import keyed_token, mask_phone, seal, sha256_hex, unseal
from backend.notify import messages
from backend.notify.sms import SmsProvider
from backend.orgs.services import Caller
from backend.orgs.tables import Organisation
from backend.storage import BlobUnavailable, blobs
from ml import handwriting

logger = logging.getLogger("signlink.envelopes")
TableT = TypeVar("TableT", bound=Table)

MOBILE = re.compile(r"^1[3-9]\d{9}$")
IDENTITY_LEVELS = ("none", "phone3", "bank4", "face")
INTENT_METHODS = ("sms", "face")
PAGE_WIDTH = 1080
# Widths a page image may be asked for (the pages' srcset): a 360 px phone at 1x gets 360,
# at 2x 720; each is rendered once per document revision and kept as a blob.
PAGE_WIDTHS = (360, 540, 720, PAGE_WIDTH)
LINK_PURPOSE = "signlink/link/v1"
LONG_TERM_JOB = "document.long_term"


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
        if not s.stamp and not MOBILE.match(normalise_phone(s.phone)):
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
    phones: dict[str, int] = {}
    for i, s in enumerate(signers):
        phone = normalise_phone(s.phone)
        if not s.stamp and MOBILE.match(phone) and phone in phones:
            problems.append(
                FieldProblem(
                    f"signers[{i}].phone",
                    f"该手机号已用于第 {phones[phone] + 1} 位签署人，每位签署人需使用本人手机号。",
                    f"This phone is already used by signer {phones[phone] + 1}; "
                    "each signer needs their own phone.",
                )
            )
        phones.setdefault(phone, i)
    given = [s.order is not None for s in signers]
    if any(given) and not all(given):
        problems.append(
            FieldProblem(
                "signers",
                "请为所有签署人填写签署顺序，或全部不填（按模板默认顺序）。",
                "Give every signer an order, or none (the template's default order).",
            )
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
    return keyed_token(LINK_PURPOSE, f"{signer_id}:{nonce}", length=16)


def signer_link(settings: Settings, signer_id: uuid.UUID, nonce: str) -> str:
    return f"{settings.public_url}/s/{signer_token(signer_id, nonce)}"


RENDER_JOB = "document.render"
STAMP = "stamp"  # Signer.intent_method of an internal stamping step


@dataclass(frozen=True)
class PlannedSigner:
    role: documents.RoleSpec
    given: schemas.SignerIn
    order: int


@dataclass(frozen=True)
class EnvelopeDraft:
    """A creation request that passed every check: nothing is stored yet."""

    template: documents.ContractTemplate
    cleaned: dict[str, Any]
    signers: tuple[PlannedSigner, ...]
    callback_url: str | None


def _unknown_template(key: str) -> AppError:
    known = ", ".join(t.key for t in documents.list_templates())
    return AppError(
        code="unknown_template",
        message=f"模板“{key}”不存在。可用模板：{known}。",
        message_en=f"Unknown template {key!r}. Available: {known}.",
        fields=[FieldProblem("template", "模板不存在。", "Unknown template.")],
    )


def check_envelope(body: schemas.CreateEnvelope) -> tuple[EnvelopeDraft | None, list[FieldProblem]]:
    """Every problem with a creation request (data, signers, order), or the draft to store."""
    template = documents.get_template(body.template)
    if template is None:
        return None, [FieldProblem("template", "模板不存在。", "Unknown template.")]
    problems = _check_signers(template, body.signers) + _check_callback(body.callback_url)
    cleaned: dict[str, Any] = {}
    try:
        cleaned = template.validate(body.data)
    except documents.TemplateDataError as exc:
        problems += [FieldProblem(f"data.{e.path}", e.message, e.message_en) for e in exc.errors]
    if problems:
        return None, problems
    defaults = template.default_orders()
    planned = tuple(
        PlannedSigner(role, s, s.order or defaults[role.key])
        for s in body.signers
        if (role := template.role(s.role)) is not None
    )
    order_problems = _check_order(template, planned)
    if order_problems:
        return None, order_problems
    return EnvelopeDraft(template, cleaned, planned, body.callback_url), []


def _check_order(
    template: documents.ContractTemplate, planned: tuple[PlannedSigner, ...]
) -> list[FieldProblem]:
    """Milestones happen in the template's sequence: a receipt cannot come before pick-up."""
    steps = [p for p in planned if p.role.milestone is not None]
    position = {r.key: i for i, r in enumerate(template.roles)}
    steps.sort(key=lambda p: position[p.role.key])
    for before, after in itertools.pairwise(steps):
        if after.order <= before.order:
            assert before.role.milestone and after.role.milestone
            return [
                FieldProblem(
                    "signers",
                    f"签署顺序无法完成：{after.role.label}（{after.role.milestone.label}）"
                    f"必须在{before.role.label}（{before.role.milestone.label}）之后签署。",
                    f"This order cannot complete: {after.role.key} "
                    f"({after.role.milestone.key}) must sign after {before.role.key}.",
                )
            ]
    return []


async def create_envelope(
    caller: Caller,
    body: schemas.CreateEnvelope,
    settings: Settings,
    *,
    queued: bool = False,
) -> uuid.UUID:
    """Check, store and send an envelope.

    ``queued``: store the draft and its signers now and leave rendering and the first SMS
    to a ``document.render`` job (batches, phone pages); otherwise render before answering.
    """
    if documents.get_template(body.template) is None:
        raise _unknown_template(body.template)
    draft, problems = check_envelope(body)
    if draft is None:
        raise validation_error(problems)
    if queued:
        async with transaction():
            envelope_id = await insert_draft(caller, draft, settings)
            await jobs.enqueue(RENDER_JOB, {"envelope_id": str(envelope_id)})
        jobs.wake_worker()
        return envelope_id
    number = _new_number(utcnow())
    rendered = await documents.async_render_document(
        draft.template,
        draft.cleaned,
        document_number=number,
        signers={p.role.key: p.given.name.strip() for p in draft.signers},
    )
    async with transaction():
        envelope_id = await insert_draft(caller, draft, settings, number=number)
        await store_rendered(envelope_id, rendered, actor=caller.organisation_name)
    jobs.wake_worker()
    logger.info("envelope created", extra={"fields": {"envelope": str(envelope_id)}})
    return envelope_id


async def insert_draft(
    caller: Caller,
    draft: EnvelopeDraft,
    settings: Settings,
    *,
    number: str | None = None,
    batch_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """The envelope (status draft, no document yet) and its signers, in the caller's transaction."""
    now = utcnow()
    envelope_id = uuid.uuid4()
    template = draft.template
    await Envelope.insert(
        Envelope(
            id=envelope_id,
            organisation=caller.organisation_id,
            number=number or _new_number(now),
            template=template.key,
            template_version=template.version,
            title=template.title,
            status="draft",
            data_sealed=seal(_json(draft.cleaned)),
            current_sha256="",
            callback_url=draft.callback_url,
            expires_at=now + timedelta(days=settings.envelope_ttl_days),
            created_at=now,
            updated_at=now,
            batch=batch_id,
        )
    )
    rows = []
    for planned in sorted(draft.signers, key=lambda p: p.order):
        s = planned.given
        signer_id = uuid.uuid4()
        nonce = secrets.token_hex(8)
        phone = normalise_phone(s.phone)
        rows.append(
            Signer(
                id=signer_id,
                envelope=envelope_id,
                role=planned.role.key,
                role_label=planned.role.label,
                name=s.name.strip(),
                phone_sealed=seal(phone),
                phone_masked=mask_phone(phone),
                routing_order=planned.order,
                identity_level="none" if s.stamp else s.identity,
                intent_method=STAMP if s.stamp else s.intent,
                field_name=f"sig_{planned.role.key}",
                status="waiting",
                link_nonce=nonce,
                token_hash=sha256_hex(signer_token(signer_id, nonce)),
            )
        )
    await Signer.insert(*rows)
    await append_event(
        envelope_id,
        "envelope.created",
        actor=caller.organisation_name,
        data={
            "template": template.key,
            "template_version": template.version,
            "api_key": str(caller.api_key_id),
            **({"batch": str(batch_id)} if batch_id else {}),
        },
    )
    return envelope_id


async def store_rendered(
    envelope_id: uuid.UUID, rendered: documents.RenderedDocument, *, actor: str | None
) -> bool:
    """Attach the first revision to a draft and send it (in the caller's transaction).

    False when the envelope is no longer a draft (rendered meanwhile, or voided)."""
    now = utcnow()
    moved = (
        await Envelope.update(
            {
                Envelope.current_sha256: rendered.sha256,
                Envelope.status: "sent",
                Envelope.updated_at: now,
            }
        )
        .where((Envelope.id == envelope_id) & (Envelope.status == "draft"))
        .returning(Envelope.expires_at)
    )
    if not moved:
        return False
    await blobs().put(rendered.pdf)
    await DocumentRevision.insert(
        DocumentRevision(
            id=uuid.uuid4(),
            envelope=envelope_id,
            seq=1,
            sha256=rendered.sha256,
            page_count=rendered.page_count,
            reason="rendered",
            created_at=now,
        )
    )
    orders = await Signer.select(Signer.routing_order).where(Signer.envelope == envelope_id)
    await _send(envelope_id, order=min(r["routing_order"] for r in orders))
    await append_event(
        envelope_id,
        "envelope.sent",
        actor=actor or "",
        data={"document_sha256": rendered.sha256},
    )
    from backend.envelopes import lifecycle  # the deadline jobs; lifecycle imports this module

    await lifecycle.schedule_deadline(envelope_id, moved[0]["expires_at"])
    return True


async def render_draft(envelope_id: uuid.UUID) -> None:
    """The ``document.render`` job: render a queued draft, then send it (idempotent)."""
    env = await Envelope.objects().where(Envelope.id == envelope_id).first()
    if env is None or env.status != "draft":
        return
    template = documents.get_template(env.template)
    if template is None or template.version != env.template_version:
        raise RuntimeError(f"template {env.template} v{env.template_version} is not available")
    signers = await Signer.select(Signer.role, Signer.name).where(Signer.envelope == env.id)
    import json

    rendered = await documents.async_render_document(
        template,
        json.loads(unseal(env.data_sealed)),
        document_number=env.number,
        signers={r["role"]: r["name"] for r in signers},
    )
    async with transaction():
        await store_rendered(env.id, rendered, actor=None)
    jobs.wake_worker()


async def _invited(envelope_id: uuid.UUID, order: int) -> list[uuid.UUID]:
    """The signers at `order` who get an SMS (stamping steps wait in the members' queue)."""
    rows = await Signer.select(Signer.id).where(
        (Signer.envelope == envelope_id)
        & (Signer.routing_order == order)
        & (Signer.intent_method != STAMP)
    )
    return [row["id"] for row in rows]


def held_invitation_id(signer_id: uuid.UUID) -> uuid.UUID:
    """The job id of a first invitation queued before its document was rendered."""
    return uuid.uuid5(_HELD_INVITATION, str(signer_id))


_HELD_INVITATION = uuid.UUID("6f1d7c1e-3a55-4f0e-9d0b-5b1c2a7e8f10")


async def hold_first_invitations(envelope_id: uuid.UUID, until: datetime) -> None:
    """Queue a draft's first SMS now, due at `until`; rendering it makes them due at once.

    Batches queue every first SMS in the transaction that accepts them. A held SMS never
    goes out before its document exists: `store_rendered` releases it, and the SMS job
    sends nothing for an envelope that is still a draft (if the render never succeeds).
    """
    orders = await Signer.select(Signer.routing_order).where(Signer.envelope == envelope_id)
    first = min(r["routing_order"] for r in orders)
    for signer_id in await _invited(envelope_id, first):
        await jobs.enqueue(
            "sms.invitation",
            {"signer_id": str(signer_id)},
            run_at=until,
            job_id=held_invitation_id(signer_id),
        )


async def _send(envelope_id: uuid.UUID, order: int) -> None:
    """Queue the invitations for every signer at `order` (inside the caller's transaction)."""
    signer_ids = await _invited(envelope_id, order)
    held = await jobs.release([held_invitation_id(s) for s in signer_ids])
    for signer_id in signer_ids:
        if held_invitation_id(signer_id) not in held:
            await jobs.enqueue("sms.invitation", {"signer_id": str(signer_id)})


def _json(data: Any) -> str:
    import json

    return json.dumps(data, ensure_ascii=False, default=str)


# ---------------------------------------------------------------- reading views


async def envelope_out(envelope_id: uuid.UUID, organisation_id: uuid.UUID) -> schemas.EnvelopeOut:
    # One query on the kept read connection: the envelope and its signers.
    rows = await fetch_point(_envelope_sql(), envelope_id, organisation_id)
    if not rows:
        raise not_found()
    env = _row_object(Envelope, "e.", rows[0])
    if env.status == "sent" and utcnow() > env.expires_at:
        from backend.envelopes import lifecycle  # imports this module

        await lifecycle.expire(env.id)  # on access, in case the deadline job has not run yet
        rows = await fetch_point(_envelope_sql(), envelope_id, organisation_id)
        env = _row_object(Envelope, "e.", rows[0])
    signers = [_row_object(Signer, "s.", r) for r in rows if r["s.id"] is not None]
    template = documents.get_template(env.template)
    reached = {r.key: r.milestone.key for r in (template.roles if template else ()) if r.milestone}
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
                declined_at=s.declined_at,
                decline_reason=s.decline_reason,
                reminded_at=s.reminded_at,
                milestone=reached.get(s.role),
            )
            for s in signers
        ],
        pdf_url=f"/api/v1/envelopes/{env.id}/pdf",
        milestone=env.milestone,
        milestones=[
            schemas.MilestoneOut(
                key=m["key"],
                label=m["label"],
                label_en=m["label_en"],
                role=m["role"],
                at=datetime.fromisoformat(m["at"]),
            )
            for m in milestones.history(env.milestones)
        ],
        status_reason=env.status_reason,
        batch_id=str(env.batch) if env.batch else None,
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
    has_revision = await DocumentRevision.exists().where(
        (DocumentRevision.envelope == envelope_id) & (DocumentRevision.sha256 == env.current_sha256)
    )
    if not has_revision:
        raise not_found()
    return env, await blobs().get(env.current_sha256)


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
    # The rows the context was made from (one query): what a rendered page depends on.
    rows: list[dict[str, Any]] = field(default_factory=list, repr=False, compare=False)

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
    return await context_by_token_hash(sha256_hex(token), token)


async def context_by_token_hash(token_hash: str, token: str = "") -> SignerContext | None:
    """:func:`resolve_link` for a signer known by the stored hash of their link token
    (batch signing reaches the same person's other envelopes this way; ``token`` stays
    empty, so their links are never revealed)."""
    return context_from_rows(await link_rows(token_hash), token)


async def link_rows(token_hash: str) -> list[dict[str, Any]]:
    """One query (every page of the signer's journey starts here): the signer, the
    envelope, all its signers, the sender's name and the page count."""
    return await fetch_point(_link_sql(), token_hash)


def link_rows_stored(token_hash: str) -> tuple[list[str], list[tuple[Any, ...]]] | None:
    """:func:`link_rows` as stored (SQLite, outside a transaction; else None): names and
    row tuples, cheap to compare (``page_cache``); :func:`convert_link_rows` gives what
    :func:`link_rows` would have returned for them."""
    return fetch_point_raw(_link_sql(), token_hash)


# PostgreSQL: a digest of the link's rows made by the server (the rows' text forms in a
# fixed order), so that a look-up that finds a kept page decodes two values, not ~100.
_DIGEST = """md5(string_agg(x::text, '|' ORDER BY x."s.routing_order", x."s.id"))"""


@functools.cache
def _link_digest_sql() -> str:
    return (
        f"WITH t AS ({_link_sql()}) "
        f'SELECT {_DIGEST} AS "digest", min(x."e.expires_at") AS "expires_at" FROM t x'
    )


@functools.cache
def _link_rows_digest_sql() -> str:
    return (
        f"WITH t AS ({_link_sql()}) "
        f'SELECT t.*, (SELECT {_DIGEST} FROM t x) AS "digest" FROM t '
        'ORDER BY t."s.routing_order"'
    )


async def link_digest(token_hash: str) -> tuple[str, datetime] | None:
    """PostgreSQL: the digest of :func:`link_rows` and the deadline (None: no such link)."""
    found = await fetch_point(_link_digest_sql(), token_hash)
    if not found or found[0]["digest"] is None:
        return None
    return found[0]["digest"], found[0]["expires_at"]


async def link_rows_digest(token_hash: str) -> tuple[list[dict[str, Any]], str]:
    """PostgreSQL: :func:`link_rows` and, from the same statement, their digest."""
    rows = await fetch_point(_link_rows_digest_sql(), token_hash)
    digest = rows[0].pop("digest") if rows else ""
    for row in rows[1:]:
        row.pop("digest")
    return rows, digest


def stored_expiry(names: list[str], stored: list[tuple[Any, ...]]) -> datetime:
    """The envelope's deadline from :func:`link_rows_stored`'s first row."""
    index = names.index("e.expires_at")
    return convert_stored(stored[0][index], _link_converters(tuple(names))[index])  # type: ignore[no-any-return]


def convert_link_rows(names: list[str], stored: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    converters = _link_converters(tuple(names))
    return [
        {
            name: convert_stored(value, conv)
            for name, value, conv in zip(names, row, converters, strict=True)
        }
        for row in stored
    ]


@functools.cache
def _link_converters(names: tuple[str, ...]) -> list[Any]:
    """Per result column of :func:`_link_sql`: the converter of the table column it reads
    (``me`` is a signer id; ``sender`` and ``page_count`` are computed: none)."""
    tables: dict[str, type[Table]] = {"s": Signer, "e": Envelope, "me": Signer}
    found: list[Any] = []
    for name in names:
        alias, _, field_name = name.partition(".")
        table = tables.get(alias)
        if table is None:
            found.append(None)
            continue
        column = table._meta.get_column_by_name(field_name or "id")
        converters = stored_converters(table._meta.tablename)
        found.append(converters.get(column._meta.db_column_name))
    return found


def context_from_rows(rows: list[dict[str, Any]], token: str) -> SignerContext | None:
    """The context :func:`link_rows` describe, or None for a dead link."""
    if not rows:
        return None
    env = _row_object(Envelope, "e.", rows[0])
    mine = next(r for r in rows if r["s.id"] == r["me"])
    signer = _row_object(Signer, "s.", mine)
    if env.status in {"draft", "voided"}:
        return None
    # After the deadline an unsigned link is dead; a signed signer may still download.
    if signer.status != "signed" and effective_status(env) == "expired":
        return None
    return SignerContext(
        token=token,
        envelope=env,
        signer=signer,
        signers=[_row_object(Signer, "s.", r) for r in rows],
        sender=rows[0]["sender"] or "",
        page_count=rows[0]["page_count"] or 0,
        rows=rows,
    )


@functools.cache
def _link_sql() -> str:
    """Rows: one per signer of the envelope that holds the token's signer (``me``)."""
    sig, env = Signer._meta.tablename, Envelope._meta.tablename
    org, rev = Organisation._meta.tablename, DocumentRevision._meta.tablename
    return (
        f'SELECT me."id" AS "me", {_cols(Signer, "s")}, {_cols(Envelope, "e")}, '
        f'(SELECT o."name" FROM "{org}" o WHERE o."id" = e."organisation") AS "sender", '
        f'(SELECT r."page_count" FROM "{rev}" r WHERE r."sha256" = e."current_sha256" '
        f'LIMIT 1) AS "page_count" '
        f'FROM "{sig}" me JOIN "{env}" e ON e."id" = me."envelope" '
        f'JOIN "{sig}" s ON s."envelope" = e."id" '
        'WHERE me."token_hash" = {} ORDER BY s."routing_order"'
    )


@functools.cache
def _envelope_sql() -> str:
    """Rows: one per signer (in signing order) of one organisation's envelope."""
    sig, env = Signer._meta.tablename, Envelope._meta.tablename
    return (
        f"SELECT {_cols(Envelope, 'e')}, {_cols(Signer, 's')} "
        f'FROM "{env}" e LEFT JOIN "{sig}" s ON s."envelope" = e."id" '
        'WHERE e."id" = {} AND e."organisation" = {} ORDER BY s."routing_order"'
    )


def _cols(table: type[Table], alias: str) -> str:
    return ", ".join(
        f'{alias}."{c._meta.db_column_name}" AS "{alias}.{c._meta.name}"'
        for c in table._meta.columns
    )


def _row_object(table: type[TableT], prefix: str, row: dict[str, Any]) -> TableT:
    """The object ``table.objects()`` would have returned for the prefixed columns.

    Every column is present, so Piccolo's ``__init__`` (defaults, checks, one ``setattr``
    per column: ~10 % of a signer page) is skipped; the attributes are the same."""
    obj = table.__new__(table)
    values = obj.__dict__
    values["_exists_in_db"] = True
    values["_was_created"] = None
    for name, key in _keys(table, prefix):
        values[name] = row[key]
    return obj


@functools.cache
def _keys(table: type[Table], prefix: str) -> tuple[tuple[str, str], ...]:
    return tuple((c._meta.name, prefix + c._meta.name) for c in table._meta.columns)


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


async def rendered_page(
    envelope_id: uuid.UUID, key: str, index: int, *, width: int, format: str
) -> bytes:
    """Page `index` of the envelope's current PDF as an image, rendered once per `key`
    (the document hash, or a key derived from it) and width, and kept as a blob."""
    # On the kept read connection: every page a signer reads comes through here.
    rows = await fetch(
        'SELECT "image_sha256" FROM "page_image" '
        'WHERE "sha256" = {} AND "page" = {} AND "width" = {} LIMIT 1',
        key,
        index,
        width,
    )
    broken = False
    if rows and rows[0]["image_sha256"]:
        try:
            return await blobs().get(rows[0]["image_sha256"])
        except BlobUnavailable as error:
            # Only a cached rendering: render it again from the (checked) PDF.
            if error.code == "storage_unavailable":
                raise
            broken = True
    _, pdf = await current_pdf(envelope_id)
    image = await asyncio.to_thread(
        documents.render_page_image, pdf, index, width=width, format=format
    )
    store = blobs()
    image_sha256 = await (store.repair(image) if broken else store.put(image))
    async with transaction():
        if broken:
            await PageImage.delete().where(
                (PageImage.sha256 == key) & (PageImage.page == index) & (PageImage.width == width)
            )
        await PageImage.insert(
            PageImage(
                id=uuid.uuid4(),
                sha256=key,
                page=index,
                width=width,
                image_sha256=image_sha256,
                content_type=f"image/{format}",
            )
        )
    return image


async def page_image(ctx: SignerContext, index: int, width: int = PAGE_WIDTH) -> bytes:
    """One page of the current revision as WebP, ``width`` (one of PAGE_WIDTHS) pixels
    wide; the last page marks the document as read."""
    if not 0 <= index < ctx.page_count or width not in PAGE_WIDTHS:
        raise not_found()
    image = await rendered_page(
        ctx.envelope.id, ctx.envelope.current_sha256, index, width=width, format="webp"
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
                    data={
                        "signer": str(ctx.signer.id),
                        "document_sha256": ctx.envelope.current_sha256,
                    },
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
    ctx: SignerContext,
    *,
    method: str,
    detail: dict[str, Any] | None = None,
    session: str | None = None,
) -> str:
    """The signer confirmed intent (SMS code, face): returns the token for the signing step.

    The caller sets it as the SESSION_COOKIE; signing must happen within intent_ttl_seconds.
    ``session``: a batch signing's one session, shared by the envelopes it covers.
    """
    _require_turn(ctx)
    _require_identity(ctx)
    session = session or secrets.token_urlsafe(32)
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


def parse_handwriting(
    strokes_json: str, signer_name: str, bound: dict[str, str] | None = None
) -> handwriting.PreparedSignature:
    """The pad's vector strokes, checked and rendered here (the client's picture is ignored).

    ``bound``: :func:`ml.handwriting.binding` of the intent session the drawing belongs to."""
    try:
        return handwriting.prepare_signature(strokes_json, signer_name, bound=bound)
    except handwriting.HandwritingError as exc:
        logger.info("handwriting refused: %s", exc)
        raise AppError(exc.code, exc.message_zh, exc.message_en, 400) from None


async def submit_handwriting(
    ctx: SignerContext, session: str | None, strokes_json: str, settings: Settings
) -> bytes:
    """Store the signer's drawing as a server-rendered PNG that carries its stroke evidence
    and the intent session it was drawn in (it signs only within that session)."""
    _require_session(ctx, session, settings)
    assert ctx.signer.session_hash is not None  # checked by _require_session
    bound = handwriting.binding(ctx.signer.session_hash, utcnow())
    # A few ms of CPU per signature; kept off the event loop like the other renderers.
    prepared = await asyncio.to_thread(parse_handwriting, strokes_json, ctx.signer.name, bound)
    png = prepared.png
    await Signer.update({Signer.handwriting_png: png}).where(Signer.id == ctx.signer.id)
    ctx.signer.handwriting_png = png
    return png


def drawing_in_session(signer: Signer, settings: Settings) -> handwriting.DrawnSignature:
    """The signer's drawing, if it was drawn in the intent session in force (else refused).

    Asked before every field a drawing signs: one drawing serves several fields or a batch
    only under the confirmation that preceded it, never a later or an earlier one."""
    png = signer.handwriting_png
    drawn = handwriting.DrawnSignature.from_evidence(
        handwriting.read_evidence(png) if png else None
    )
    if drawn is None or not handwriting.may_reuse(
        drawn,
        intent_session_hash=signer.session_hash,
        intent_verified_at=signer.intent_verified_at,
        now=utcnow(),
        max_age=timedelta(seconds=settings.intent_ttl_seconds),
    ):
        raise AppError(
            "handwriting_missing",
            "请先手写签名（每次验证后需重新签名）。",
            "Draw your signature first (a new drawing after each confirmation).",
            400,
        )
    return drawn


def fields_to_sign(pdf: bytes, signer: Signer) -> list[str]:
    """The signer's empty signature fields: further boxes in document order, the main last
    (so the main signature covers the others). Blocking: parses the PDF."""
    found = signing.signature_fields(pdf)
    if any(f.name == signer.field_name and f.signed for f in found):
        return []
    extra = [
        f.name
        for f in found
        if not f.signed
        and f.name != signer.field_name
        and documents.is_role_field(f.name, signer.role)
    ]
    return [*extra, signer.field_name]


PARALLEL_RETRIES = 3


class _ParallelRace(Exception):
    """A signer of the same group signed first: sign again on top of their revision."""


async def sign(
    ctx: SignerContext,
    session: str | None,
    settings: Settings,
    ca: signing.CertificateAuthority,
    user_agent: str,
    *,
    batch: dict[str, Any] | None = None,
) -> None:
    """Apply this signer's PAdES signatures (every field of theirs, one drawing, one
    confirmation), store the revision, move the envelope on.

    Parallel signers (same routing order) may sign at the same moment: when the other's
    signature lands first, the signature is applied again to the new revision. The signer
    confirmed intent for the same content; only signatures of their own group were added.
    ``batch``: where this envelope sits in a batch signing (recorded in the audit events).
    """
    for attempt in range(PARALLEL_RETRIES + 1):
        try:
            await _sign_attempt(ctx, session, settings, ca, user_agent, batch)
            return
        except _ParallelRace:
            if attempt == PARALLEL_RETRIES:
                raise _changed() from None
            logger.info("parallel signature landed first; signing again")


async def _parallel_race(ctx: SignerContext, seen_sha256: str) -> Exception:
    """Why the optimistic lock failed: a parallel signer's revision (retry), else a change."""
    row = await Envelope.select(Envelope.status).where(Envelope.id == ctx.envelope.id).first()
    if row is None or row["status"] != "sent":
        return _closed(row["status"] if row else "voided")
    revisions = await DocumentRevision.select(
        DocumentRevision.seq, DocumentRevision.sha256, DocumentRevision.reason
    ).where(DocumentRevision.envelope == ctx.envelope.id)
    revisions.sort(key=lambda r: r["seq"])
    seen = next((r["seq"] for r in revisions if r["sha256"] == seen_sha256), None)
    group = {s.role for s in ctx.signers if s.routing_order == ctx.signer.routing_order}
    newer = [r["reason"] for r in revisions if seen is not None and r["seq"] > seen]
    if newer and all(
        reason.startswith("signed:") and reason.removeprefix("signed:") in group for reason in newer
    ):
        return _ParallelRace()
    return _changed()


def _closed(status: str) -> AppError:
    texts = {
        "declined": ("该合同已被拒签，无需继续签署。", "This envelope was declined."),
        "voided": ("发起方已撤销该合同，无需继续签署。", "The sender voided this envelope."),
        "expired": ("该合同已过签署期限。", "This envelope expired."),
        "completed": ("该合同已完成签署。", "This envelope is already completed."),
    }
    zh, en = texts.get(status, ("该合同当前无法签署。", "This envelope cannot be signed now."))
    return AppError(f"envelope_{status}", zh, en, 409)


async def _sign_attempt(
    ctx: SignerContext,
    session: str | None,
    settings: Settings,
    ca: signing.CertificateAuthority,
    user_agent: str,
    batch: dict[str, Any] | None = None,
) -> None:
    _require_session(ctx, session, settings)
    drawn = drawing_in_session(ctx.signer, settings)
    assert ctx.signer.handwriting_png is not None and ctx.signer.session_hash is not None
    env, pdf = await current_pdf(ctx.envelope.id)
    names = await asyncio.to_thread(fields_to_sign, pdf, ctx.signer)
    if not names:
        raise AppError("already_signed", "您已完成签署。", "Already signed.", 409)
    # One signature per field, each an incremental update on the previous one; the drawing
    # is checked against the intent session before each (ml.handwriting.may_reuse).
    steps: list[tuple[str, signing.SignedRevision]] = []
    document, sha = pdf, env.current_sha256
    for name in names:
        drawing_in_session(ctx.signer, settings)
        intent = signing.SigningIntent(
            envelope_id=str(env.id),
            signer_id=str(ctx.signer.id),
            signer_name=ctx.signer.name,
            signer_role=ctx.signer.role,
            field_name=name,
            document_sha256=sha,
            handwriting_png=ctx.signer.handwriting_png,
            verified_by="sms-otp",
            signed_at=utcnow(),
            device=user_agent[:300],
            reason=f"{ctx.signer.role_label}签署《{env.title}》",
        )
        try:
            step = await signing.async_sign_intent(document, intent, ca)
        except signing.FieldAlreadySigned:
            raise AppError("already_signed", "您已完成签署。", "Already signed.", 409) from None
        except signing.IntentMismatch:
            raise _changed() from None
        steps.append((sha, step))
        document, sha = step.pdf, step.sha256
    signed = steps[-1][1]

    # Each signature's serial, hash and TSA time, for the evidence trail (read outside the
    # write transaction: it parses the PDF).
    facts = {f["field"]: f for f in await evidence.signatures_for_event(signed.pdf)}
    evidence_png = handwriting.read_evidence(ctx.signer.handwriting_png) or {}
    reuse = {
        "intent_session": handwriting.session_reference(ctx.signer.session_hash),
        "drawn_at": drawn.drawn_at.isoformat(),
        "fields": len(steps),
        **({"batch": batch} if batch else {}),
    }
    now = utcnow()
    async with transaction():
        # Optimistic lock: only the revision the signer saw may be replaced.
        moved = (
            await Envelope.update(
                {Envelope.current_sha256: signed.sha256, Envelope.updated_at: now}
            )
            .where(
                (Envelope.id == env.id)
                & (Envelope.current_sha256 == env.current_sha256)
                & (Envelope.status == "sent")
            )
            .returning(Envelope.id)
        )
        if not moved:
            raise await _parallel_race(ctx, env.current_sha256)
        await append_revision(
            env.id, env.current_sha256, signed.pdf, signed.sha256, f"signed:{ctx.signer.role}", now
        )
        await Signer.update(
            {
                Signer.status: "signed",
                Signer.signed_at: now,
                Signer.certificate_serial: signed.certificate_serial,
                Signer.session_hash: None,
            }
        ).where(Signer.id == ctx.signer.id)
        for index, (before, step) in enumerate(steps):
            own = facts.get(step.field_name, {})
            last = index == len(steps) - 1
            await append_event(
                env.id,
                # One event per field; the main field's closes the signer's turn.
                kinds.SIGNER_SIGNED if last else kinds.SIGNER_FIELD_SIGNED,
                actor=ctx.signer.role,
                data={
                    "signer": str(ctx.signer.id),
                    "field": step.field_name,
                    "certificate_serial": step.certificate_serial,
                    "signature_sha256": own.get("signature_sha256"),
                    "timestamp_time": own.get("timestamp_time"),
                    "document_sha256_before": before,
                    "document_sha256_after": step.sha256,
                    "handwriting_sha256": sha256_hex(ctx.signer.handwriting_png),
                    # Stroke hash and dynamics, carried inside the server-rendered PNG.
                    "handwriting_strokes_sha256": evidence_png.get("strokes_sha256"),
                    "handwriting_features": evidence_png.get("features"),
                    # The same drawing on every field, under one intent confirmation.
                    "handwriting_reuse": {
                        **reuse,
                        "field_index": index + 1,
                        # Applied before in this session: an earlier field or envelope.
                        "reused": index > 0 or bool(batch and batch.get("position", 1) > 1),
                    },
                },
            )
        await advance(env, ctx.signer, signed, now)
    jobs.wake_worker()


async def advance(
    env: Envelope, signer: Signer, signed: signing.SignedRevision, now: datetime
) -> None:
    """After ``signer``'s signature landed (inside its transaction): milestone, then the
    next group's invitations or the completion. Shared by signing and stamping."""
    await milestones.record(env, signer, now)
    # Read inside the transaction: a parallel signer may have signed since the page loaded.
    remaining = [
        r["routing_order"]
        for r in await Signer.select(Signer.routing_order).where(
            (Signer.envelope == env.id) & (Signer.status != "signed")
        )
    ]
    if not remaining:
        await Envelope.update({Envelope.status: "completed", Envelope.completed_at: now}).where(
            Envelope.id == env.id
        )
        await append_event(
            env.id,
            "envelope.completed",
            data={
                "document_sha256": signed.sha256,
                # Each signature's certificate serial, signature hash and TSA time.
                "signatures": await evidence.signatures_for_event(signed.pdf),
            },
        )
        # Long-term validation data first, then the evidence seal (completion.py).
        await jobs.enqueue(LONG_TERM_JOB, {"envelope_id": str(env.id)})
    elif min(remaining) > signer.routing_order:
        await _send(env.id, order=min(remaining))


async def append_revision(
    envelope_id: uuid.UUID,
    previous_sha256: str,
    pdf: bytes,
    sha256: str,
    reason: str,
    now: datetime,
) -> None:
    """Store the next revision of an envelope's PDF (inside the caller's transaction)."""
    seq = await DocumentRevision.count().where(DocumentRevision.envelope == envelope_id)
    previous = (
        await DocumentRevision.select(DocumentRevision.page_count)
        .where(DocumentRevision.sha256 == previous_sha256)
        .first()
    )
    await blobs().put(pdf)
    await DocumentRevision.insert(
        DocumentRevision(
            id=uuid.uuid4(),
            envelope=envelope_id,
            seq=seq + 1,
            sha256=sha256,
            page_count=previous["page_count"] if previous else 0,
            reason=reason,
            created_at=now,
        )
    )


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
