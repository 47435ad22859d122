"""Transactional outbox and the worker that drains it.

`enqueue` is called inside the transaction of the state change that causes the work, so
the work exists if and only if the change committed. The worker claims due jobs with a
conditional update (one winner per job), runs the handler, and retries with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from backend.database import utcnow
from backend.jobs.tables import Job

logger = logging.getLogger("signlink.jobs")

Handler = Callable[[dict[str, Any]], Awaitable[None]]
MAX_ATTEMPTS = 12
LEASE = timedelta(minutes=5)

_handlers: dict[str, Handler] = {}
_wakeup: asyncio.Event | None = None


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _handlers[kind] = fn
        return fn

    return register


async def enqueue(kind: str, payload: dict[str, Any], run_at: datetime | None = None) -> uuid.UUID:
    now = utcnow()
    job_id = uuid.uuid4()
    await Job.insert(
        Job(id=job_id, kind=kind, payload=payload, run_at=run_at or now, created_at=now)
    )
    return job_id


def wake_worker() -> None:
    """Call after a commit that enqueued work, so the in-process worker runs it now."""
    if _wakeup is not None:
        _wakeup.set()


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, 3600))


async def _claim(limit: int) -> list[dict[str, Any]]:
    now = utcnow()
    due = (
        await Job.select(Job.id)
        .where(
            (Job.run_at <= now)
            & ((Job.status == "pending") | ((Job.status == "running") & (Job.locked_until < now)))
        )
        .order_by(Job.run_at)
        .limit(limit)
    )
    claimed = []
    for row in due:
        won = (
            await Job.update({Job.status: "running", Job.locked_until: now + LEASE})
            .where(
                (Job.id == row["id"])
                & (
                    (Job.status == "pending")
                    | ((Job.status == "running") & (Job.locked_until < now))
                )
            )
            .returning(Job.id, Job.kind, Job.payload, Job.attempts)
        )
        claimed.extend(won)
    return claimed


async def _run(job: dict[str, Any]) -> None:
    payload = job["payload"]
    if isinstance(payload, str):
        payload = json.loads(payload)
    fn = _handlers.get(job["kind"])
    try:
        if fn is None:
            raise LookupError(f"no handler for job kind {job['kind']!r}")
        await fn(payload)
    except Exception as exc:  # one failing job must not stop the others
        attempts = job["attempts"] + 1
        final = attempts >= MAX_ATTEMPTS
        logger.warning(
            "job failed",
            extra={"fields": {"job": str(job["id"]), "kind": job["kind"], "error": repr(exc)}},
        )
        await Job.update(
            {
                Job.status: "failed" if final else "pending",
                Job.attempts: attempts,
                Job.run_at: utcnow() + backoff(attempts),
                Job.last_error: repr(exc)[:2000],
                Job.locked_until: None,
            }
        ).where(Job.id == job["id"])
        return
    await Job.update({Job.status: "done", Job.done_at: utcnow(), Job.locked_until: None}).where(
        Job.id == job["id"]
    )


async def run_pending(limit: int = 20) -> int:
    """Run the jobs that are due now; returns how many ran."""
    jobs = await _claim(limit)
    for job in jobs:
        await _run(job)
    return len(jobs)


async def drain(max_rounds: int = 50) -> None:
    """Run jobs until none is due (tests and one-off commands)."""
    for _ in range(max_rounds):
        if await run_pending() == 0:
            return


async def worker_loop(poll_seconds: float = 1.0) -> None:
    global _wakeup
    _wakeup = asyncio.Event()
    while True:
        try:
            ran = await run_pending()
        except Exception:
            logger.exception("worker round failed")
            ran = 0
        if ran:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_wakeup.wait(), timeout=poll_seconds)
        _wakeup.clear()
