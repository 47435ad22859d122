"""Batch signing (批量签署): one person signs several waiting envelopes at once.

A driver with several waybills, or a dealer with several agreements from the same
organisation, opens any one of their signing links and goes to ``/s/<token>/batch``:

0. the list is shown only to whoever proves they hold the phone: an SMS code sent to it
   (its own purpose, "batch-access") unlocks the list for 30 minutes in this browser. A
   forwarded link alone shows that envelope, never the others;
1. the page lists the envelopes waiting for *this phone* from *the sender of this link*
   (nothing from other senders; other envelopes' links are never shown); each one is
   opened and read to the last page before it can be ticked, as in the one-envelope flow;
2. the signer ticks some, confirms "read and agree", and enters one SMS code: one intent
   session opens on every ticked envelope (``intent.confirmed`` on each, same session);
3. they draw once: the drawing is checked and rendered once, bound to that session and
   stored for each ticked envelope;
4. they confirm once: each envelope is signed in turn (every field of theirs), and each
   signature checks :func:`ml.handwriting.may_reuse` — the drawing never outlives the
   session, and a new session needs a new drawing.

Envelopes that need something only their own link can give (a real-name identity step, a
face intent check, someone else signing first) are listed apart and left out.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from dataclasses import dataclass, field

from backend import signing
from backend.config import Settings
from backend.database import transaction, utcnow
from backend.envelopes import services
from backend.envelopes.services import SignerContext
from backend.envelopes.tables import Signer
from backend.errors import AppError
from backend.evidence.services import append_event
from backend.identity import services as identity
from backend.keys import keyed_token, sha256_hex, unseal
from backend.notify.sms import SmsProvider
from ml import handwriting

logger = logging.getLogger("signlink.envelopes.batch_signing")

MAX_ITEMS = 50
"""At most this many envelopes on the list and in one batch (the oldest deadlines first)."""

ACCESS_PURPOSE = "batch-access"  # the SMS code that shows the list (not an intent code)
ACCESS_SECONDS = 30 * 60
_ACCESS_KEY = "signlink/batch-access/v1"


@dataclass
class BatchItem:
    """One waiting envelope of the person, as the list shows it."""

    ctx: SignerContext
    blocked: str = ""  # why it cannot join a batch (Chinese); empty when it can
    blocked_en: str = ""

    @property
    def signer_id(self) -> str:
        return str(self.ctx.signer.id)

    @property
    def read(self) -> bool:
        return self.ctx.signer.read_at is not None


@dataclass
class BatchList:
    anchor: SignerContext
    items: list[BatchItem] = field(default_factory=list)

    @property
    def ready(self) -> list[BatchItem]:
        return [i for i in self.items if not i.blocked]

    @property
    def blocked(self) -> list[BatchItem]:
        return [i for i in self.items if i.blocked]

    def item(self, signer_id: str) -> BatchItem | None:
        return next((i for i in self.ready if i.signer_id == signer_id), None)


@dataclass(frozen=True)
class BatchResult:
    ctx: SignerContext
    ok: bool
    message: str = ""


# ------------------------------------------------------------------ access to the list


def access_pass(anchor: SignerContext) -> str:
    """The cookie value that shows this link's list until it expires (signed, not stored)."""
    expires = int(time.time() + ACCESS_SECONDS)
    return f"{expires}.{_access_mac(anchor, expires)}"


def has_access(anchor: SignerContext, value: str | None) -> bool:
    expires, _, mac = (value or "").partition(".")
    if not expires.isdigit() or int(expires) < time.time():
        return False
    return hmac.compare_digest(mac, _access_mac(anchor, int(expires)))


def _access_mac(anchor: SignerContext, expires: int) -> str:
    # Bound to the signer and to their current link: a resent link (new nonce) starts over.
    return keyed_token(_ACCESS_KEY, f"{anchor.signer.id}.{anchor.signer.token_hash}.{expires}", 43)


async def send_access_code(anchor: SignerContext, settings: Settings, sms: SmsProvider) -> int:
    """The SMS code that unlocks the list; seconds until another may be sent."""
    result = await identity.send_intent_code(
        anchor.signer.id, unseal(anchor.signer.phone_sealed), settings, sms, ACCESS_PURPOSE
    )
    if not result.ok:
        raise AppError("otp_rate_limited", result.message, "Please wait before resending.", 429)
    return settings.otp_resend_seconds


async def confirm_access_code(
    anchor: SignerContext, code: str, settings: Settings
) -> identity.CodeCheck:
    return await identity.verify_intent_code(anchor.signer.id, code, settings, ACCESS_PURPOSE)


# ------------------------------------------------------------------ the list


async def waiting_for(anchor: SignerContext) -> BatchList:
    """The envelopes from the anchor link's sender waiting for the same phone (anchor's
    own included when it waits), oldest deadline first."""
    phone = unseal(anchor.signer.phone_sealed)
    # The masked phone narrows the rows; the sealed one decides (it is encrypted at rest).
    rows = (
        await Signer.select(Signer.id, Signer.token_hash, Signer.phone_sealed)
        .where(
            (Signer.phone_masked == anchor.signer.phone_masked)
            & (Signer.status != "signed")
            & (Signer.envelope.organisation == anchor.envelope.organisation)
            & (Signer.envelope.status == "sent")
            & (Signer.envelope.expires_at > utcnow())
        )
        .order_by(Signer.envelope.expires_at)
        .limit(MAX_ITEMS * 4)
    )
    found = BatchList(anchor)
    for row in rows:
        if len(found.items) >= MAX_ITEMS:
            break
        if unseal(row["phone_sealed"]) != phone:
            continue
        ctx = await services.context_by_token_hash(row["token_hash"])
        if ctx is None or ctx.signer.status == "signed":
            continue
        found.items.append(_classify(ctx, anchor))
    return found


def _classify(ctx: SignerContext, anchor: SignerContext) -> BatchItem:
    if ctx.signer.name != anchor.signer.name:
        # Same phone, another name (a shared company phone): one drawing cannot serve both.
        return BatchItem(
            ctx, "签署人姓名不同，请使用原短信链接签署", "Another signer name: use its link"
        )
    if not ctx.is_turn:
        return BatchItem(ctx, "需等待其他签署方先签署", "Waiting for another party to sign first")
    if ctx.signer.intent_method != "sms":
        return BatchItem(ctx, "需通过原短信链接刷脸签署", "Needs a face check: use its own link")
    if ctx.needs_identity:
        return BatchItem(
            ctx, "需先通过原短信链接完成实名认证", "Needs identity verification: use its own link"
        )
    return BatchItem(ctx)


def _selection(found: BatchList, chosen: list[str]) -> list[BatchItem]:
    """The ticked envelopes, each one still waiting and read to the end; else a clear 400."""
    picked = []
    for signer_id in dict.fromkeys(chosen):
        item = found.item(signer_id)
        if item is None:
            raise AppError(
                "batch_item_unavailable",
                "所选文件中有已签署、已撤销或暂不能批量签署的文件，请刷新列表后重新选择。",
                "One of the chosen documents can no longer be signed here; reload the list.",
                400,
            )
        if not item.read:
            raise AppError(
                "not_read",
                f"请先打开并阅读《{item.ctx.envelope.title}》（{item.ctx.envelope.number}）全部页面。",
                f"Open and read {item.ctx.envelope.number} to the last page first.",
                400,
            )
        picked.append(item)
    if not picked:
        raise AppError(
            "batch_empty", "请至少选择一份要签署的文件。", "Choose at least one document.", 400
        )
    return picked


def _require_agreement(agreed: bool, count: int) -> None:
    if not agreed:
        raise AppError(
            "batch_not_agreed",
            f"请勾选“我已阅读并同意签署所选的 {count} 份文件”。",
            "Tick that you have read and agree to sign the chosen documents.",
            400,
        )


async def send_code(
    anchor: SignerContext,
    chosen: list[str],
    agreed: bool,
    settings: Settings,
    sms: SmsProvider,
) -> tuple[list[BatchItem], int]:
    """The SMS code for the ticked envelopes (to the phone they share); seconds to resend."""
    picked = _selection(await waiting_for(anchor), chosen)
    _require_agreement(agreed, len(picked))
    result = await identity.send_intent_code(
        anchor.signer.id, unseal(anchor.signer.phone_sealed), settings, sms
    )
    if not result.ok:
        raise AppError("otp_rate_limited", result.message, "Please wait before resending.", 429)
    async with transaction():
        for item in picked:
            await append_event(
                item.ctx.envelope.id,
                "intent.code_sent",
                actor=item.ctx.signer.role,
                data={
                    "signer": str(item.ctx.signer.id),
                    "to": item.ctx.signer.phone_masked,
                    "provider": result.provider,
                    "message_id": result.message_id,
                    "batch": {"envelopes": len(picked)},
                },
            )
    return picked, settings.otp_resend_seconds


async def confirm_code(
    anchor: SignerContext, chosen: list[str], agreed: bool, code: str, settings: Settings
) -> tuple[str | None, identity.CodeCheck, list[BatchItem]]:
    """Check the code; on success one intent session opens on every ticked envelope.

    Returns the session token (for the batch cookie), the check, and the envelopes."""
    picked = _selection(await waiting_for(anchor), chosen)
    _require_agreement(agreed, len(picked))
    check = await identity.verify_intent_code(anchor.signer.id, code, settings)
    if not check.ok:
        return None, check, picked
    session = secrets.token_urlsafe(32)
    reference = handwriting.session_reference(sha256_hex(session))
    for position, item in enumerate(picked, start=1):
        await services.open_intent_session(
            item.ctx,
            method="sms-otp",
            session=session,
            detail={
                "to": item.ctx.signer.phone_masked,
                # The envelopes this one confirmation covers, and the reader's statement.
                "batch": {
                    "intent_session": reference,
                    "position": position,
                    "of": len(picked),
                    "numbers": [i.ctx.envelope.number for i in picked],
                    "read_and_agreed": True,
                },
            },
        )
    return session, check, picked


async def in_session(
    anchor: SignerContext, session: str | None, settings: Settings
) -> list[SignerContext]:
    """The envelopes of the live batch session (re-read), or 403 when it expired."""
    if session:
        found = await waiting_for(anchor)
        hashed = sha256_hex(session)
        live = [
            i.ctx
            for i in found.ready
            if i.ctx.signer.session_hash
            and secrets.compare_digest(i.ctx.signer.session_hash, hashed)
            and services.has_intent_session(i.ctx, session, settings)
        ]
        if live:
            return live
    raise AppError(
        "intent_required",
        "验证已过期，请返回列表重新选择文件并获取短信验证码。",
        "Your confirmation expired; choose the documents and confirm with a new SMS code.",
        403,
    )


async def submit_drawing(
    anchor: SignerContext, session: str | None, strokes_json: str, settings: Settings
) -> tuple[bytes, list[SignerContext]]:
    """Check and render the drawing once, bound to the session, for every envelope in it."""
    contexts = await in_session(anchor, session, settings)
    assert session is not None
    bound = handwriting.binding(sha256_hex(session), utcnow())
    prepared = await asyncio.to_thread(
        services.parse_handwriting, strokes_json, anchor.signer.name, bound
    )
    ids = [c.signer.id for c in contexts]
    await Signer.update({Signer.handwriting_png: prepared.png}).where(
        Signer.id.is_in(ids) & (Signer.session_hash == sha256_hex(session))
    )
    return prepared.png, contexts


async def sign_all(
    anchor: SignerContext,
    session: str | None,
    settings: Settings,
    ca: signing.CertificateAuthority,
    user_agent: str,
) -> list[BatchResult]:
    """Sign every envelope of the session in turn; one failing leaves the others signed."""
    contexts = await in_session(anchor, session, settings)
    reference = handwriting.session_reference(sha256_hex(session or ""))
    results = []
    for position, ctx in enumerate(contexts, start=1):
        batch = {"intent_session": reference, "position": position, "of": len(contexts)}
        try:
            await services.sign(ctx, session, settings, ca, user_agent, batch=batch)
        except AppError as exc:
            logger.info("batch item not signed: %s", exc.code)
            results.append(BatchResult(ctx, False, exc.message))
            continue
        results.append(BatchResult(ctx, True))
    return results
