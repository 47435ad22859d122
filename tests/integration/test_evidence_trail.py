"""The evidence trail of a completed envelope: every event, the chain, the TSA seal, and
each kind of tampering with a stored event found and named (database and command line)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from backend.evidence import services as evidence
from backend.evidence.chain import canonical_time, event_hash
from backend.evidence.tables import AuditEvent, EnvelopeSeal
from backend.evidence.timestamps import async_verify_token
from tests.integration.journey import car_purchase_body, fresh_phones, sign_as, wait_for_sms

REPO = Path(__file__).resolve().parents[2]
BUYER, DEALER = fresh_phones()


async def complete_envelope(
    client: Any, auth: dict[str, str], outbox: Any, buyer: str, dealer: str
) -> str:
    """Create a car purchase, have both parties sign over HTTP, wait for the seal."""
    created = await client.post(
        "/api/v1/envelopes", json=car_purchase_body(buyer, dealer), headers=auth
    )
    assert created.status_code == 201, created.text
    envelope_id = created.json()["id"]
    await wait_for_sms(outbox, buyer)
    await sign_as(client, outbox, outbox.link_for(buyer), buyer)
    await wait_for_sms(outbox, dealer)
    await sign_as(client, outbox, outbox.link_for(dealer), dealer)
    downloaded = await client.get(f"{outbox.link_for(buyer)}/download")
    assert downloaded.status_code == 200
    await wait_for_seal(envelope_id)
    return envelope_id


async def wait_for_seal(envelope_id: str, timeout: float = 20) -> EnvelopeSeal:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        seal = await EnvelopeSeal.objects().where(EnvelopeSeal.envelope == envelope_id).first()
        if seal is not None:
            return seal
        assert loop.time() < deadline, "the completed envelope was not sealed by the worker"
        await asyncio.sleep(0.1)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.evidence", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=os.environ.copy(),
        timeout=120,
    )


@pytest.fixture(scope="module")
async def envelope_id(client, api_key, outbox) -> str:
    return await complete_envelope(
        client, {"Authorization": f"Bearer {api_key}"}, outbox, BUYER, DEALER
    )


async def row(envelope_id: str, seq: int) -> dict[str, Any]:
    found = await AuditEvent.select().where(
        (AuditEvent.envelope == envelope_id) & (AuditEvent.seq == seq)
    )
    assert found, f"no event #{seq}"
    if isinstance(found[0]["data"], str):
        found[0]["data"] = json.loads(found[0]["data"])
    return found[0]


async def seq_of(envelope_id: str, kind: str) -> int:
    events = await evidence.events_for(uuid.UUID(envelope_id))
    return next(e["seq"] for e in events if e["kind"] == kind)


async def findings(envelope_id: str) -> list[tuple[str, int]]:
    report = await evidence.verify_envelope_chain(uuid.UUID(envelope_id))
    return [(f.problem, f.seq) for f in report.findings]


async def test_every_step_is_recorded_masked_and_chained(envelope_id):
    events = await evidence.events_for(uuid.UUID(envelope_id))
    kinds = [e["kind"] for e in events]
    for kind in (
        "envelope.created",
        "envelope.sent",
        "signer.notified",
        "signer.viewed",
        "signer.read",
        "intent.code_sent",
        "intent.confirmed",
        "signer.signed",
        "envelope.completed",
        "document.downloaded",
    ):
        assert kind in kinds, kind
    assert kinds.index("envelope.completed") < kinds.index("document.downloaded")
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))

    by_kind = {e["kind"]: e["data"] for e in events}
    assert by_kind["signer.notified"]["message_id"] and by_kind["signer.notified"]["provider"]
    assert by_kind["signer.viewed"]["ip"] and by_kind["signer.viewed"]["user_agent"]
    assert len(by_kind["intent.confirmed"]["document_sha256"]) == 64
    signatures = by_kind["envelope.completed"]["signatures"]
    assert len(signatures) == 2
    # Each signer's own event names its signature and the TSA time too.
    signed_events = [e["data"] for e in events if e["kind"] == "signer.signed"]
    assert [e["signature_sha256"] for e in signed_events] == [
        s["signature_sha256"] for s in signatures
    ]
    assert all(e["timestamp_time"] for e in signed_events)
    for s in signatures:
        assert len(s["certificate_serial"]) == 32 and len(s["signature_sha256"]) == 64
        assert s["timestamp_time"]
    # Only masked phone numbers, never the clear ones, and never the buyer's ID number.
    dumped = json.dumps([e["data"] for e in events], ensure_ascii=False)
    assert BUYER not in dumped and DEALER not in dumped and "11010519491231002X" not in dumped
    assert f"{BUYER[:3]}****{BUYER[-4:]}" in dumped

    # Read back from the database (SQLite text or PostgreSQL timestamptz): still intact.
    assert evidence.chain_is_intact(events)
    for e in events:
        assert e["hash"] == event_hash(
            envelope_id, e["prev_hash"], e["seq"], e["kind"], canonical_time(e["at"]),
            e["actor"], e["data"],
        )  # fmt: skip


async def test_the_completed_chain_is_sealed_by_the_tsa(envelope_id, app):
    seal = await wait_for_seal(envelope_id)
    completed = await seq_of(envelope_id, "envelope.completed")
    assert seal.seq >= completed
    assert seal.hash == (await row(envelope_id, seal.seq))["hash"]
    check = await async_verify_token(seal.token, seal.hash, [app.state.ca.root_certificate])
    assert check.ok, check
    assert check.gen_time is not None


async def test_verify_command_passes_on_the_untouched_envelope(envelope_id):
    result = await evidence.verify_envelope(uuid.UUID(envelope_id), _pki_dir())
    assert result.ok, result.to_json()
    done = await asyncio.to_thread(run_cli, "verify", envelope_id, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["chain"]["intact"]
    assert {c["name"] for c in report["checks"]} >= {"seal", "document", "signatures"}
    human = await asyncio.to_thread(run_cli, "verify", envelope_id)
    assert human.returncode == 0 and "通过 PASSED" in human.stdout


def _pki_dir() -> Path:
    from backend.config import get_settings

    return get_settings().pki_dir


async def test_a_changed_event_is_detected_and_named(envelope_id):
    seq = await seq_of(envelope_id, "signer.viewed")
    original = await row(envelope_id, seq)
    forged = {**original["data"], "ip": "10.9.8.7"}
    await AuditEvent.update({AuditEvent.data: forged}).where(AuditEvent.id == original["id"])
    try:
        assert await findings(envelope_id) == [("changed", seq)]
        done = await asyncio.to_thread(run_cli, "verify", envelope_id)
        assert done.returncode == 1
        assert (
            f"第 {seq} 条事件" in done.stdout
            and f"event #{seq} (signer.viewed) was changed" in done.stdout
        )
        assert "未通过 FAILED" in done.stdout
    finally:
        await AuditEvent.update({AuditEvent.data: original["data"]}).where(
            AuditEvent.id == original["id"]
        )
    assert await findings(envelope_id) == []


async def test_a_changed_event_time_is_detected(envelope_id):
    seq = await seq_of(envelope_id, "intent.confirmed")
    original = await row(envelope_id, seq)
    await AuditEvent.update({AuditEvent.at: original["at"].replace(microsecond=0)}).where(
        AuditEvent.id == original["id"]
    )
    try:
        assert await findings(envelope_id) == [("changed", seq)]
    finally:
        await AuditEvent.update({AuditEvent.at: original["at"]}).where(
            AuditEvent.id == original["id"]
        )
    assert await findings(envelope_id) == []


async def test_a_deleted_event_is_detected_and_named(envelope_id):
    seq = await seq_of(envelope_id, "intent.code_sent")
    original = await row(envelope_id, seq)
    await AuditEvent.delete().where(AuditEvent.id == original["id"])
    try:
        assert await findings(envelope_id) == [("deleted", seq)]
        done = await asyncio.to_thread(run_cli, "verify", envelope_id, "--json")
        assert done.returncode == 1
        report = json.loads(done.stdout)
        assert [(f["problem"], f["seq"]) for f in report["chain"]["findings"]] == [("deleted", seq)]
    finally:
        await AuditEvent.insert(AuditEvent(**original))
    assert await findings(envelope_id) == []


async def test_reordered_events_are_detected_and_named(envelope_id):
    first = await seq_of(envelope_id, "signer.read")
    a, b = await row(envelope_id, first), await row(envelope_id, first + 1)
    # Swap the positions of two neighbours (through a free number: (envelope, seq) is unique).
    await AuditEvent.update({AuditEvent.seq: -1}).where(AuditEvent.id == a["id"])
    await AuditEvent.update({AuditEvent.seq: first}).where(AuditEvent.id == b["id"])
    await AuditEvent.update({AuditEvent.seq: first + 1}).where(AuditEvent.id == a["id"])
    try:
        assert await findings(envelope_id) == [("reordered", first), ("reordered", first + 1)]
        done = await asyncio.to_thread(run_cli, "verify", envelope_id)
        assert done.returncode == 1 and "事件顺序被调换" in done.stdout
        assert f"was originally #{first + 1}: events reordered" in done.stdout
    finally:
        await AuditEvent.update({AuditEvent.seq: -1}).where(AuditEvent.id == a["id"])
        await AuditEvent.update({AuditEvent.seq: first + 1}).where(AuditEvent.id == b["id"])
        await AuditEvent.update({AuditEvent.seq: first}).where(AuditEvent.id == a["id"])
    assert await findings(envelope_id) == []


async def test_deleting_the_sealed_head_is_detected(envelope_id):
    seal = await wait_for_seal(envelope_id)
    events = await evidence.events_for(uuid.UUID(envelope_id))
    removed = [e for e in events if e["seq"] >= seal.seq]
    await AuditEvent.delete().where(
        (AuditEvent.envelope == envelope_id) & (AuditEvent.seq >= seal.seq)
    )
    try:
        assert await findings(envelope_id) == [("truncated", seal.seq)]
    finally:
        for e in removed:
            await AuditEvent.insert(AuditEvent(**e))
    assert await findings(envelope_id) == []


async def test_two_events_cannot_share_a_sequence_number(envelope_id):
    # The unique (envelope, seq) index: a second event #1 cannot be stored.
    first = await row(envelope_id, 1)
    clash = {**first, "id": uuid.uuid4()}
    with pytest.raises(Exception):  # noqa: B017 - sqlite3.IntegrityError or asyncpg's
        await AuditEvent.insert(AuditEvent(**clash))
