"""Append-only, hash-chained audit events, their seals and anchors, and the evidence report.

`append_event` is called inside the transaction of the state change it records. At
completion the `evidence.seal` job timestamps the chain head with the TSA; every day the
`evidence.anchor` job puts each envelope's head of that day into a Merkle tree, has the
root timestamped and deposits it through the configured connectors.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509

from backend import signing
from backend.config import Settings
from backend.database import is_sqlite, transaction, utcnow
from backend.envelopes.tables import DocumentRevision, Envelope, Signer
from backend.errors import AppError
from backend.evidence import kinds
from backend.evidence.bundle import (
    AnchorProof,
    Check,
    Materials,
    Verification,
    fingerprint,
    leaf_data,
    verify_materials,
    write_bundle,
)
from backend.evidence.chain import (
    GENESIS,
    ChainEvent,
    ChainReport,
    canonical_time,
    event_hash,
    verify_chain,
)
from backend.evidence.connectors import (
    AnchorRecord,
    DepositError,
    LocalFileNotary,
    NotaryConnector,
)
from backend.evidence.masking import mask_personal_data
from backend.evidence.merkle import inclusion_proof, merkle_root
from backend.evidence.report import (
    CHINA,
    IDENTITY_LEVELS,
    INTENT_METHODS,
    ReportData,
    async_render_report,
    describe,
)
from backend.evidence.signatures import async_signature_facts, name_text, signatures_for_event
from backend.evidence.tables import (
    AnchorDeposit,
    AnchorLeaf,
    AuditEvent,
    DailyAnchor,
    EnvelopeSeal,
)
from backend.evidence.timestamps import request_token, token_info
from backend.jobs import services as jobs
from backend.orgs.tables import Organisation
from backend.pki import load_ca
from backend.signing.platform import PlatformSigner
from backend.storage import blobs

logger = logging.getLogger("signlink.evidence")

SEAL_JOB = "evidence.seal"
ANCHOR_JOB = "evidence.anchor"
ANCHOR_DELAY = timedelta(minutes=5)
STATUS_LABELS = {
    "draft": "草稿",
    "sent": "签署中",
    "completed": "已完成",
    "declined": "已拒签",
    "voided": "已作废",
    "expired": "已过期",
}

__all__ = [
    "ANCHOR_JOB",
    "GENESIS",
    "SEAL_JOB",
    "add_listener",
    "anchor_day",
    "append_event",
    "chain_events",
    "chain_is_intact",
    "envelope_materials",
    "event_hash",
    "events_for",
    "evidence_bundle",
    "evidence_report",
    "register_jobs",
    "seal_envelope",
    "signatures_for_event",
    "verify_envelope",
]


# ---------------------------------------------------------------- the chain

# Called with each saved event inside its transaction (webhooks queue deliveries there).
EventListener = Callable[[AuditEvent], Awaitable[None]]
_listeners: list[EventListener] = []


def add_listener(listener: EventListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


async def append_event(
    envelope_id: uuid.UUID, kind: str, *, actor: str = "", data: dict[str, Any] | None = None
) -> AuditEvent:
    """Append one event to the envelope's chain. Call inside the change's transaction."""
    data = mask_personal_data(data or {})
    actor = actor[:100]
    if not is_sqlite():
        # Writers of one envelope queue here (SQLite's write lock already serialises them);
        # the unique (envelope, seq) index is the backstop.
        await Envelope.select(Envelope.id).where(Envelope.id == envelope_id).lock_rows()
    last = (
        await AuditEvent.select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.envelope == envelope_id)
        .order_by(AuditEvent.seq, ascending=False)
        .first()
    )
    seq = 1 if last is None else last["seq"] + 1
    prev = GENESIS if last is None else last["hash"]
    at = utcnow()
    event = AuditEvent(
        id=uuid.uuid4(),
        envelope=envelope_id,
        seq=seq,
        kind=kind,
        at=at,
        actor=actor,
        data=data,
        prev_hash=prev,
        hash=event_hash(str(envelope_id), prev, seq, kind, canonical_time(at), actor, data),
    )
    await event.save()
    for listener in _listeners:
        await listener(event)
    return event


async def events_for(envelope_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = (
        await AuditEvent.select().where(AuditEvent.envelope == envelope_id).order_by(AuditEvent.seq)
    )
    for row in rows:
        if isinstance(row["data"], str):
            row["data"] = json.loads(row["data"])
    return rows


async def chain_events(envelope_id: uuid.UUID) -> list[ChainEvent]:
    return [ChainEvent.from_row(row) for row in await events_for(envelope_id)]


def chain_is_intact(events: list[dict[str, Any]]) -> bool:
    """Whether rows from :func:`events_for` form an unbroken chain."""
    if not events:
        return True
    envelope_id = str(events[0]["envelope"])
    return verify_chain(envelope_id, [ChainEvent.from_row(e) for e in events]).intact


async def verify_envelope_chain(envelope_id: uuid.UUID) -> ChainReport:
    seal = await EnvelopeSeal.objects().where(EnvelopeSeal.envelope == envelope_id).first()
    sealed = (seal.seq, seal.hash) if seal else None
    return verify_chain(str(envelope_id), await chain_events(envelope_id), sealed=sealed)


# ---------------------------------------------------------------- sealing and anchoring


class ChainBroken(Exception):
    """The stored chain does not verify; it is not sealed or anchored as it is."""


async def seal_envelope(envelope_id: uuid.UUID, stamper: Any) -> EnvelopeSeal:
    """Timestamp the envelope's chain head (once); returns the seal."""
    existing = await EnvelopeSeal.objects().where(EnvelopeSeal.envelope == envelope_id).first()
    if existing is not None:
        return existing
    events = await chain_events(envelope_id)
    report = verify_chain(str(envelope_id), events)
    if not events or not report.intact:
        problems = "; ".join(f.message_en for f in report.findings) or "no events"
        logger.error(
            "evidence chain broken, not sealed",
            extra={"fields": {"envelope": str(envelope_id), "problems": problems}},
        )
        raise ChainBroken(f"envelope {envelope_id}: {problems}")
    head = events[-1]
    token = await request_token(stamper, head.hash)
    gen_time, _, serial = token_info(token)
    seal = EnvelopeSeal(
        id=uuid.uuid4(),
        envelope=envelope_id,
        seq=head.seq,
        hash=head.hash,
        token=token,
        gen_time=gen_time,
        tsa_serial=serial,
        created_at=utcnow(),
    )
    await seal.save()
    return seal


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=CHINA).astimezone(UTC)
    return start, start + timedelta(days=1)


def china_day(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


async def schedule_anchor(day: date) -> None:
    """Queue the anchoring of ``day`` for just after it ends (once)."""
    from backend.jobs.tables import Job

    key = day.isoformat()
    if await DailyAnchor.exists().where(DailyAnchor.day == key):
        return
    queued = await Job.select(Job.payload).where(
        (Job.kind == ANCHOR_JOB) & Job.status.is_in(["pending", "running"])
    )
    for row in queued:
        payload = row["payload"]
        if (json.loads(payload) if isinstance(payload, str) else payload).get("day") == key:
            return
    await jobs.enqueue(ANCHOR_JOB, {"day": key}, run_at=_day_bounds(day)[1] + ANCHOR_DELAY)


async def anchor_day(
    day: date, stamper: Any, connectors: list[NotaryConnector]
) -> DailyAnchor | None:
    """Build, timestamp and deposit the Merkle tree of ``day`` (idempotent)."""
    key = day.isoformat()
    anchor = await DailyAnchor.objects().where(DailyAnchor.day == key).first()
    if anchor is None:
        anchor = await _build_anchor(day, stamper)
        if anchor is None:
            return None
    await _deposit(anchor, connectors)
    return anchor


async def _build_anchor(day: date, stamper: Any) -> DailyAnchor | None:
    start, end = _day_bounds(day)
    rows = await AuditEvent.select(AuditEvent.envelope, AuditEvent.seq, AuditEvent.hash).where(
        (AuditEvent.at >= start) & (AuditEvent.at < end)
    )
    heads: dict[str, tuple[int, str]] = {}
    for row in rows:
        env = str(row["envelope"])
        if env not in heads or row["seq"] > heads[env][0]:
            heads[env] = (row["seq"], row["hash"])
    leaves: list[tuple[str, int, str]] = []
    for env, (seq, head) in sorted(heads.items()):
        events = [e for e in await chain_events(uuid.UUID(env)) if e.seq <= seq]
        if not verify_chain(env, events).intact:
            logger.error(
                "evidence chain broken, left out of the anchor", extra={"fields": {"envelope": env}}
            )
            continue
        leaves.append((env, seq, head))
    if not leaves:
        return None
    root = merkle_root([leaf_data(*leaf).encode() for leaf in leaves]).hex()
    token = await request_token(stamper, root)
    gen_time, _, _ = token_info(token)
    anchor = DailyAnchor(
        id=uuid.uuid4(),
        day=day.isoformat(),
        root=root,
        size=len(leaves),
        token=token,
        gen_time=gen_time,
        created_at=utcnow(),
    )
    async with transaction():
        await anchor.save()
        await AnchorLeaf.insert(
            *[
                AnchorLeaf(
                    id=uuid.uuid4(),
                    anchor=anchor.id,
                    position=i,
                    envelope=uuid.UUID(env),
                    seq=seq,
                    hash=head,
                )
                for i, (env, seq, head) in enumerate(leaves)
            ]
        )
    return anchor


async def _deposit(anchor: DailyAnchor, connectors: list[NotaryConnector]) -> None:
    record = AnchorRecord(
        day=anchor.day,
        root=anchor.root,
        size=anchor.size,
        token=anchor.token,
        gen_time=anchor.gen_time,
    )
    failed = []
    for connector in connectors:
        done = await AnchorDeposit.exists().where(
            (AnchorDeposit.anchor == anchor.id)
            & (AnchorDeposit.connector == connector.name)
            & (AnchorDeposit.status == "deposited")
        )
        if done:
            continue
        try:
            receipt = await connector.deposit(record)
        except Exception as exc:  # a remote service's failure is recorded and retried
            failed.append(f"{connector.name}: {exc}")
            await AnchorDeposit.insert(
                AnchorDeposit(
                    id=uuid.uuid4(),
                    anchor=anchor.id,
                    connector=connector.name,
                    status="failed",
                    error=repr(exc)[:2000],
                    created_at=utcnow(),
                )
            )
            continue
        await AnchorDeposit.insert(
            AnchorDeposit(
                id=uuid.uuid4(),
                anchor=anchor.id,
                connector=connector.name,
                status="deposited",
                reference=receipt.reference[:500],
                receipt={"deposited_at": receipt.deposited_at.isoformat(), **receipt.detail},
                created_at=utcnow(),
            )
        )
    if failed:
        raise DepositError("; ".join(failed))


def connectors_for(settings: Settings) -> list[NotaryConnector]:
    """The deposit connectors in use. Remote notary / judicial-chain ones are added here."""
    return [LocalFileNotary(settings.data_dir / "evidence-deposits")]


async def _load_ca(settings: Settings) -> signing.CertificateAuthority:
    return await load_ca(settings)


def register_jobs(settings: Settings) -> None:
    """The seal and anchor jobs; the same in the web process and in `python -m backend.jobs`."""

    @jobs.handler(SEAL_JOB)
    async def seal(payload: dict[str, Any]) -> None:
        ca = await _load_ca(settings)
        envelope_id = uuid.UUID(payload["envelope_id"])
        sealed = await seal_envelope(envelope_id, ca.tsa.timestamper())
        await schedule_anchor(china_day(sealed.created_at))

    @jobs.handler(ANCHOR_JOB, retry_for=timedelta(days=7))
    async def anchor(payload: dict[str, Any]) -> None:
        ca = await _load_ca(settings)
        day = date.fromisoformat(payload["day"])
        await anchor_day(day, ca.tsa.timestamper(), connectors_for(settings))
        # Keep anchoring day after day, including days without a completed envelope.
        await schedule_anchor(day + timedelta(days=1))


# ---------------------------------------------------------------- materials, report, bundle


async def _envelope(envelope_id: uuid.UUID, organisation_id: uuid.UUID | None) -> Envelope:
    env = await Envelope.objects().where(Envelope.id == envelope_id).first()
    if env is None or (organisation_id is not None and env.organisation != organisation_id):
        raise AppError(
            code="not_found",
            message="找不到该合同，请检查编号是否正确。",
            message_en="No such envelope.",
            status_code=404,
        )
    return env


async def _anchor_proofs(envelope_id: uuid.UUID) -> list[AnchorProof]:
    proofs = []
    leaves = await AnchorLeaf.select(
        AnchorLeaf.anchor, AnchorLeaf.position, AnchorLeaf.seq, AnchorLeaf.hash
    ).where(AnchorLeaf.envelope == envelope_id)
    for leaf in leaves:
        anchor = await DailyAnchor.objects().where(DailyAnchor.id == leaf["anchor"]).first()
        if anchor is None:
            continue
        all_leaves = (
            await AnchorLeaf.select(AnchorLeaf.envelope, AnchorLeaf.seq, AnchorLeaf.hash)
            .where(AnchorLeaf.anchor == anchor.id)
            .order_by(AnchorLeaf.position)
        )
        data = [leaf_data(str(x["envelope"]), x["seq"], x["hash"]).encode() for x in all_leaves]
        proofs.append(
            AnchorProof(
                day=anchor.day,
                root=anchor.root,
                size=anchor.size,
                index=leaf["position"],
                leaf=leaf_data(str(envelope_id), leaf["seq"], leaf["hash"]),
                proof=[p.hex() for p in inclusion_proof(data, leaf["position"])],
                token=anchor.token,
            )
        )
    return sorted(proofs, key=lambda p: p.day)


def _load_root(pki_dir: Path) -> x509.Certificate | None:
    path = pki_dir / "root.pem"
    return x509.load_pem_x509_certificate(path.read_bytes()) if path.exists() else None


async def envelope_materials(
    envelope_id: uuid.UUID,
    *,
    root: x509.Certificate | None,
    organisation_id: uuid.UUID | None = None,
) -> Materials:
    """Everything the verifier needs about one envelope, read from the database."""
    env = await _envelope(envelope_id, organisation_id)
    events = await chain_events(envelope_id)
    seal = await EnvelopeSeal.objects().where(EnvelopeSeal.envelope == envelope_id).first()
    has_revision = await DocumentRevision.exists().where(
        (DocumentRevision.envelope == envelope_id) & (DocumentRevision.sha256 == env.current_sha256)
    )
    return Materials(
        envelope_id=str(envelope_id),
        events=events,
        root=root,
        seal=(seal.seq, seal.hash, seal.token) if seal else None,
        anchors=await _anchor_proofs(envelope_id),
        document=await blobs().get(env.current_sha256) if has_revision else None,
        envelope={
            "id": str(env.id),
            "number": env.number,
            "title": env.title,
            "template": env.template,
            "template_version": env.template_version,
            "status": env.status,
            "document_sha256": env.current_sha256,
        },
    )


async def verify_envelope(envelope_id: uuid.UUID, pki_dir: Path) -> Verification:
    """`python -m backend.evidence verify`: the bundle checks, on the database's data."""
    materials = await envelope_materials(envelope_id, root=_load_root(pki_dir))
    result = await verify_materials(materials)
    current = materials.envelope.get("document_sha256", "")
    if materials.document is None:
        result.checks.append(
            Check("document", False, f"找不到当前文档 {current}", f"current PDF {current} missing")
        )
    return result


_platform_cache: dict[Path, PlatformSigner] = {}


async def _platform(settings: Settings, ca: signing.CertificateAuthority) -> PlatformSigner:
    cached = _platform_cache.get(settings.pki_dir)
    now = datetime.now(UTC)
    if cached is None or cached.certificate.not_valid_after_utc - now < timedelta(days=30):
        cached = await asyncio.to_thread(
            PlatformSigner.load_or_create, settings.pki_dir, settings.master_key_bytes(), ca
        )
        _platform_cache[settings.pki_dir] = cached
    return cached


def _identity_result(event: ChainEvent) -> str:
    """One line for a passed identity check, '' for any other event."""
    d = event.data if isinstance(event.data, dict) else {}
    method = IDENTITY_LEVELS.get(str(d.get("method")), str(d.get("method") or ""))
    request = f"，请求号 {d['provider_request_id']}" if d.get("provider_request_id") else ""
    if event.kind == kinds.SIGNER_VERIFIED or (
        event.kind == "identity.checked" and d.get("outcome") == "match"
    ):
        masked = f"，证件 {d['id_masked']}" if d.get("id_masked") else ""
        return f"{method or '实名认证'} 通过（{d.get('provider', '—')}{request}{masked}）"
    if event.kind == "face.passed":
        scores = "，".join(f"{k} {v}" for k, v in (d.get("scores") or {}).items())
        return f"人脸核验通过（{scores or d.get('provider', '—')}）"
    if event.kind == "identity.review_approved":
        return "人工审核通过"
    return ""


def _cert_row(role: str, cert: x509.Certificate) -> dict[str, Any]:
    return {
        "role": role,
        "subject": name_text(cert.subject),
        "serial": format(cert.serial_number, "032x"),
        "not_after": cert.not_valid_after_utc,
        "fingerprint": fingerprint(cert),
    }


async def _report_data(
    env: Envelope,
    materials: Materials,
    verification: Verification,
    settings: Settings,
    ca: signing.CertificateAuthority,
    platform: PlatformSigner,
) -> ReportData:
    now = utcnow()
    org = (
        await Organisation.select(Organisation.name)
        .where(Organisation.id == env.organisation)
        .first()
    )
    signers = await Signer.objects().where(Signer.envelope == env.id).order_by(Signer.routing_order)
    events = materials.events
    by_signer: dict[str, list[ChainEvent]] = {}
    for ev in events:
        if isinstance(ev.data, dict) and "signer" in ev.data:
            by_signer.setdefault(str(ev.data["signer"]), []).append(ev)
    actors = {s.role: f"{s.role_label}（{s.name}）" for s in signers}
    signer_rows = []
    for s in signers:
        mine = by_signer.get(str(s.id), [])
        intents = [e for e in mine if e.kind == kinds.INTENT_CONFIRMED]
        results = [_identity_result(e) for e in mine]
        passed = [r for r in results if r]
        if passed:
            identity = "；".join(passed)
        elif s.identity_level == "none":
            identity = "未要求（以本人手机号接收验证码）"
        else:
            identity = "未完成"
        if intents:
            i = intents[-1].data
            intent = f"{INTENT_METHODS.get(str(i.get('method')), i.get('method'))}"
            if i.get("to"):
                intent += f"（{i['to']}）"
        else:
            intent = "—"
        signer_rows.append(
            {
                "role_label": s.role_label,
                "name": s.name,
                "phone": s.phone_masked,
                "identity_required": IDENTITY_LEVELS.get(s.identity_level, s.identity_level),
                "identity_result": identity,
                "intent": intent,
                "signed_at": s.signed_at,
            }
        )

    facts = await async_signature_facts(materials.document) if materials.document else []
    validated = (
        await signing.async_validate_pdf(materials.document, [ca.root_certificate])
        if materials.document
        else None
    )
    verdicts = {
        s.field_name: ("有效" if s.intact and s.valid and s.trusted else "无效")
        for s in (validated.signatures if validated else ())
    }
    signatures = [
        {
            "field": f.field,
            "signer_name": f.signer_name,
            "certificate_serial": f.certificate_serial,
            "subject": f.subject,
            "issuer": f.issuer,
            "not_before": f.not_before,
            "not_after": f.not_after,
            "signature_sha256": f.signature_sha256,
            "timestamp_time": f.timestamp_time,
            "verdict": verdicts.get(f.field, "未校验"),
        }
        for f in facts
    ]
    checks = {c.name: c for c in verification.checks}
    timestamps = []
    if materials.seal is not None:
        seq, head, token = materials.seal
        gen_time, _, _ = token_info(token)
        seal_check = checks.get("seal")
        timestamps.append(
            {
                "what": f"事件链封存（第 {seq} 条）",
                "digest": head,
                "gen_time": gen_time,
                "tsa": name_text(ca.tsa.certificate.subject),
                "verdict": "有效" if seal_check and seal_check.ok else "无效",
            }
        )
    for f in signatures:
        if f["timestamp_time"]:
            timestamps.append(
                {
                    "what": f"{f['signer_name']} 的签名",
                    "digest": f["signature_sha256"],
                    "gen_time": f["timestamp_time"],
                    "tsa": name_text(ca.tsa.certificate.subject),
                    "verdict": f["verdict"],
                }
            )
    anchors = []
    for a in materials.anchors:
        gen_time, _, _ = token_info(a.token)
        check = checks.get(f"anchor {a.day}")
        timestamps.append(
            {
                "what": f"{a.day} 日存证树根",
                "digest": a.root,
                "gen_time": gen_time,
                "tsa": name_text(ca.tsa.certificate.subject),
                "verdict": "有效" if check and check.ok else "无效",
            }
        )
        deposits = await AnchorDeposit.select(AnchorDeposit.connector).where(
            (AnchorDeposit.anchor.day == a.day) & (AnchorDeposit.status == "deposited")
        )
        anchors.append(
            {
                "day": a.day,
                "root": a.root,
                "size": a.size,
                "index": a.index,
                "deposits": "、".join(d["connector"] for d in deposits),
            }
        )
    chain = verification.chain
    final = materials.envelope.get("document_sha256", "")
    revisions = (
        await DocumentRevision.select(DocumentRevision.sha256)
        .where(DocumentRevision.envelope == env.id)
        .order_by(DocumentRevision.seq)
        .first()
    )
    notes = []
    if env.status != "completed":
        notes.append("合同尚未完成签署，本报告反映生成时的状态。")
    if chain is not None and not chain.intact:
        notes.extend(f.message for f in chain.findings)
    return ReportData(
        report_id=f"ER-{env.number}-{now.astimezone(CHINA):%Y%m%d%H%M%S}",
        generated_at=now,
        envelope={
            "id": str(env.id),
            "number": env.number,
            "title": env.title,
            "template": env.template,
            "template_version": env.template_version,
            "sender": org["name"] if org else "",
            "status_label": STATUS_LABELS.get(env.status, env.status),
            "created_at": env.created_at,
            "completed_at": env.completed_at,
        },
        signers=signer_rows,
        timeline=[
            {
                "seq": e.seq,
                "at": e.at,
                "kind": e.kind,
                "actor": actors.get(e.actor, e.actor) or "系统",
                "details": describe(e.kind, e.data),
                "hash": e.hash,
            }
            for e in events
        ],
        chain={
            "count": chain.count if chain else 0,
            "head_hash": chain.head_hash if chain else "",
            "verdict": "完整" if chain is not None and chain.intact else "发现篡改",
        },
        documents={"original": revisions["sha256"] if revisions else "", "final": final},
        signatures=signatures,
        certificates=[
            _cert_row("根证书", ca.root_certificate),
            _cert_row("签发机构", ca.issuing_certificate),
            _cert_row("时间戳机构", ca.tsa.certificate),
            _cert_row("平台证书（本报告签名）", platform.certificate),
        ],
        timestamps=timestamps,
        anchors=anchors,
        verify_url=f"{settings.public_url}/verify?sha256={final}",
        platform={
            "subject": name_text(platform.certificate.subject),
            "serial": platform.serial_hex,
        },
        notes=notes,
    )


async def _signed_report(
    env: Envelope,
    materials: Materials,
    settings: Settings,
    ca: signing.CertificateAuthority,
) -> tuple[bytes, PlatformSigner]:
    verification = await verify_materials(materials)
    platform = await _platform(settings, ca)
    data = await _report_data(env, materials, verification, settings, ca, platform)
    pdf = await async_render_report(data)
    signed = await platform.async_sign_pdf(pdf, reason=f"签约存证报告：{env.number}")
    return signed, platform


async def evidence_report(
    envelope_id: uuid.UUID,
    organisation_id: uuid.UUID,
    settings: Settings,
    ca: signing.CertificateAuthority,
) -> tuple[str, bytes]:
    """``(envelope number, the signed report PDF)`` for the organisation's envelope."""
    env = await _envelope(envelope_id, organisation_id)
    materials = await envelope_materials(envelope_id, root=ca.root_certificate)
    pdf, _ = await _signed_report(env, materials, settings, ca)
    return env.number, pdf


async def evidence_bundle(
    envelope_id: uuid.UUID,
    organisation_id: uuid.UUID,
    settings: Settings,
    ca: signing.CertificateAuthority,
) -> tuple[str, bytes]:
    """``(envelope number, evidence.zip)``: all an offline verifier needs."""
    env = await _envelope(envelope_id, organisation_id)
    materials = await envelope_materials(envelope_id, root=ca.root_certificate)
    report, platform = await _signed_report(env, materials, settings, ca)
    materials.report = report
    certificates = {
        "issuing": ca.issuing_certificate,
        "tsa": ca.tsa.certificate,
        "platform": platform.certificate,
    }
    if materials.document is not None:
        for facts in await async_signature_facts(materials.document):
            for cert in facts.certificates:
                if cert.issuer != cert.subject and fingerprint(cert) not in {
                    fingerprint(c) for c in certificates.values()
                }:
                    certificates[f"signer-{format(cert.serial_number, '032x')}"] = cert
    materials.certificates = certificates
    return env.number, await asyncio.to_thread(write_bundle, materials, utcnow())
