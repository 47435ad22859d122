"""The standalone worker: killed mid-work it loses nothing and redoes nothing finished;
two workers on PostgreSQL never run the same job."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.database import transaction, utcnow
from backend.jobs import services as jobs
from backend.jobs.tables import Job
from backend.orgs.services import create_organisation
from backend.webhooks.tables import Delivery
from tests.integration.receiver import Receiver

REPO = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 3


def start_worker() -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SIGNLINK_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
        "SIGNLINK_LOG_LEVEL": "WARNING",
        "SIGNLINK_LOG_FORMAT": "text",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.jobs_worker"], cwd=REPO, env=env
    )


async def until(predicate: Any, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_killed_worker_loses_nothing_and_repeats_nothing_done(migrated: None) -> None:
    receiver = Receiver()
    receiver.hang_on_hit = 4  # the 4th event: processed by the receiver, answer held back
    org = await create_organisation(f"kill-{uuid.uuid4().hex[:6]}")
    now = utcnow()
    deliveries, job_ids = [], []
    async with transaction():
        for i in range(8):
            delivery_id, event_id = uuid.uuid4(), uuid.uuid4()
            body = f'{{"id":"{event_id}","type":"envelope.sent","created_at":"","data":{{}}}}'
            await Delivery.insert(
                Delivery(
                    id=delivery_id,
                    organisation=org.id,
                    envelope_id=uuid.uuid4(),
                    event_id=event_id,
                    event_type="envelope.sent",
                    url=receiver.url,
                    body=body,
                    created_at=now,
                )
            )
            deliveries.append(delivery_id)
            # Due one after another, so the kill lands after some finished, before others.
            job_ids.append(
                await jobs.enqueue(
                    "test.deliver",
                    {"delivery_id": str(delivery_id)},
                    run_at=now + timedelta(seconds=0.4 * i),
                )
            )

    async def statuses() -> dict[uuid.UUID, str]:
        rows = await Delivery.select(Delivery.id, Delivery.status).where(
            Delivery.id.is_in(deliveries)
        )
        return {r["id"]: r["status"] for r in rows}

    worker = start_worker()
    try:

        async def hanging() -> bool:
            # the 4th event held, and the answer to an earlier one recorded by the worker
            if not receiver.hanging.is_set():
                return False
            return "delivered" in (await statuses()).values()

        await until(hanging, 60, "the worker to reach the 4th event")
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        receiver.release.set()  # the answer goes nowhere: the receiver did the work

        before = await statuses()
        done_before = {d for d, s in before.items() if s == "delivered"}
        held = uuid.UUID(receiver.events()[3]["id"])
        held_delivery = await Delivery.select(Delivery.id).where(Delivery.event_id == held).first()
        assert 1 <= len(done_before) < 8 and held_delivery["id"] not in done_before
        held_job = job_ids[deliveries.index(held_delivery["id"])]
        in_flight = await Job.select(Job.status).where(Job.id == held_job).first()
        assert in_flight["status"] == "running"  # claimed by the dead worker, lease running

        worker = start_worker()

        async def all_delivered() -> bool:
            return set((await statuses()).values()) == {"delivered"}

        await until(all_delivered, 60, "every delivery after the restart")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(20)
        receiver.close()

    # Nothing lost: every job finished, every event processed by the receiver exactly once.
    rows = await Job.select(Job.status).where(Job.id.is_in(job_ids))
    assert {r["status"] for r in rows} == {"done"}
    event_ids = {e["id"] for e in receiver.events()}
    assert len(event_ids) == 8
    assert set(receiver.processed.values()) == {1}
    # At least once: the held-back event was sent again after the lease ran out...
    hits = [e["id"] for e in receiver.events()]
    assert hits.count(str(held)) == 2
    # ...while deliveries finished before the kill were not sent again.
    finished = await Delivery.select(Delivery.event_id).where(Delivery.id.is_in(list(done_before)))
    assert all(hits.count(str(r["event_id"])) == 1 for r in finished)


async def test_sms_and_webhooks_are_not_held_up_by_bulk_work(
    migrated: None, tmp_path: Path
) -> None:
    """A batch of slow bulk jobs (renders, long-term validation) queued first does not
    delay an SMS queued after it: the worker runs the SMS while the batch is still busy."""
    await Job.update({Job.status: "done"}).where(
        Job.kind.is_in(["test.bulk", "sms.test"]) & (Job.status != "done")
    )  # left over from an interrupted run
    record, release = tmp_path / "ran.txt", tmp_path / "release"
    now = utcnow()
    async with transaction():
        bulk_ids = [
            await jobs.enqueue(
                "test.bulk",
                {"n": n, "path": str(record), "release": str(release)},
                run_at=now - timedelta(minutes=1),  # due long before the SMS
            )
            for n in range(3 * jobs.BATCH)
        ]
        sms_id = await jobs.enqueue("sms.test", {"path": str(record)})
    worker = start_worker()
    try:

        async def sms_sent() -> bool:
            row = await Job.select(Job.status).where(Job.id == sms_id).first()
            return row["status"] == "done"

        await until(sms_sent, 60, "the SMS job while the bulk batch is busy")
        assert record.read_text().splitlines() == ["sms"]  # no bulk job has finished yet
        release.touch()

        async def bulk_done() -> bool:
            left = await Job.count().where(Job.id.is_in(bulk_ids) & (Job.status != "done"))
            return left == 0

        await until(bulk_done, 60, "the bulk batch after its release")
    finally:
        release.touch()
        worker.send_signal(signal.SIGTERM)
        worker.wait(20)
    assert sorted(record.read_text().splitlines()) == sorted(
        ["sms", *(f"bulk {n}" for n in range(3 * jobs.BATCH))]
    )


def test_job_kinds_fall_into_lanes() -> None:
    assert jobs.default_lane("webhook.deliver") == jobs.PROMPT
    assert jobs.default_lane("sms.invitation") == jobs.PROMPT
    assert jobs.default_lane("document.render") == jobs.BULK
    assert jobs.default_lane("document.long_term") == jobs.BULK
    with pytest.raises(ValueError):
        jobs.handler("x.y", lane="urgent")


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="needs PostgreSQL (DATABASE_URL)")
async def test_two_workers_never_run_the_same_job(migrated: None, tmp_path: Path) -> None:
    record = tmp_path / "ran.txt"
    count = 200
    async with transaction():
        ids = [
            await jobs.enqueue("test.record", {"n": n, "path": str(record), "seconds": 0.01})
            for n in range(count)
        ]
    workers = [start_worker(), start_worker()]
    try:

        async def all_done() -> bool:
            left = await Job.count().where(Job.id.is_in(ids) & (Job.status != "done"))
            return left == 0

        await until(all_done, 120, "both workers to finish the queue")
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(20)
    lines = [line.split() for line in record.read_text().splitlines()]
    runs = [int(n) for n, _ in lines]
    assert sorted(runs) == list(range(count))  # each job ran exactly once
    pids = {pid for _, pid in lines}
    assert len(pids) == 2  # and both workers took a share
