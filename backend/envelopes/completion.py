"""After the last signature: make the document verifiable for years (PAdES B-LT/B-LTA),
then seal the evidence trail. The seal covers the long-term revision's event, so it runs
second."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from backend import signing
from backend.config import Settings
from backend.database import transaction, utcnow
from backend.envelopes.services import LONG_TERM_JOB, append_revision, current_pdf
from backend.envelopes.tables import DocumentRevision, Envelope
from backend.evidence import kinds
from backend.evidence.services import SEAL_JOB, append_event
from backend.jobs import services as jobs
from backend.keys import sha256_hex
from backend.pki import load_ca

logger = logging.getLogger("signlink.envelopes")
REASON = "long-term"


async def make_envelope_long_term(envelope_id: uuid.UUID, ca: signing.CertificateAuthority) -> None:
    env, pdf = await current_pdf(envelope_id)
    if env.status != "completed":
        return
    last = (
        await DocumentRevision.select(DocumentRevision.reason)
        .where(DocumentRevision.envelope == envelope_id)
        .order_by(DocumentRevision.seq, ascending=False)
        .first()
    )
    if last is not None and last["reason"] == REASON:  # a retry after the commit
        async with transaction():
            await jobs.enqueue(SEAL_JOB, {"envelope_id": str(envelope_id)})
        return
    try:
        long_term = await signing.async_make_long_term(pdf, ca)
    except signing.SigningError as exc:
        # Revoked or foreign certificates: no retry will help. Record it, seal anyway.
        logger.warning("long-term validation refused", extra={"fields": {"error": str(exc)}})
        async with transaction():
            await append_event(
                envelope_id, kinds.DOCUMENT_LONG_TERM_FAILED, data={"reason": str(exc)[:300]}
            )
            await jobs.enqueue(SEAL_JOB, {"envelope_id": str(envelope_id)})
        return
    sha = sha256_hex(long_term)
    now = utcnow()
    async with transaction():
        moved = (
            await Envelope.update({Envelope.current_sha256: sha, Envelope.updated_at: now})
            .where((Envelope.id == envelope_id) & (Envelope.current_sha256 == env.current_sha256))
            .returning(Envelope.id)
        )
        if not moved:
            return
        await append_revision(envelope_id, env.current_sha256, long_term, sha, REASON, now)
        await append_event(
            envelope_id,
            kinds.DOCUMENT_LONG_TERM,
            data={"document_sha256_before": env.current_sha256, "document_sha256_after": sha},
        )
        await jobs.enqueue(SEAL_JOB, {"envelope_id": str(envelope_id)})
    jobs.wake_worker()


def register_jobs(settings: Settings) -> None:
    @jobs.handler(LONG_TERM_JOB)
    async def long_term(payload: dict[str, Any]) -> None:
        await make_envelope_long_term(uuid.UUID(payload["envelope_id"]), await load_ca(settings))
