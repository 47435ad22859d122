"""Transactional outbox and the worker that drains it.

`enqueue` is called inside the transaction of the state change that causes the work, so
the work exists if and only if the change committed. A worker claims due jobs of the kinds
it has a handler for, holds each for a lease, runs the handler, and retries with
exponential backoff. Delivery is at least once: a worker that dies mid-job leaves the job
`running` until its lease ends, and then any worker claims it again — handlers must be
idempotent (or make their receiver so, as webhooks do with the event id).

Lanes: SMS and webhook deliveries (``sms.*``, ``webhook.*``) are *prompt* work a person or a
business system is waiting for; rendering, long-term validation, evidence seals and the like
are *bulk* work that can take seconds per job and come a thousand at a time. Each lane has
its own claim loop in the worker, so a batch of 1,000 renders never sits in front of the
next signer's SMS or an ERP's callback: the prompt lane claims only prompt kinds, and is
never waiting for a bulk job to finish.

Claims: on PostgreSQL one `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)`, so
any number of workers take disjoint rows without waiting on each other; on SQLite (one
writer at a time anyway) a conditional UPDATE per row, which only one claimer can win.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from piccolo.query.functions.aggregate import Count

from backend.database import is_sqlite, utcnow
from backend.jobs.tables import Job
from backend.metrics import JOB_SECONDS, JOBS

logger = logging.getLogger("signlink.jobs")

Handler = Callable[[dict[str, Any]], Awaitable[None]]
MAX_ATTEMPTS = 12
MAX_BACKOFF = timedelta(hours=1)
LEASE = timedelta(minutes=5)
BATCH = 10
PROMPT, BULK = "prompt", "bulk"
LANES = (PROMPT, BULK)
_PROMPT_PREFIXES = ("sms.", "webhook.")


@dataclass(frozen=True)
class _Kind:
    run: Handler
    max_attempts: int
    lane: str


_handlers: dict[str, _Kind] = {}
_wakeups: list[asyncio.Event] = []


def default_lane(kind: str) -> str:
    """SMS and webhooks are prompt work; everything else is bulk unless a handler says so."""
    return PROMPT if kind.startswith(_PROMPT_PREFIXES) else BULK


def backoff(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: 2 s, 4 s, 8 s, ... capped at one hour."""
    return min(timedelta(seconds=2 ** min(attempts, 30)), MAX_BACKOFF)


def attempts_within(window: timedelta) -> int:
    """How many attempts the backoff schedule fits before `window` has passed since the first."""
    elapsed, attempts = timedelta(0), 1
    while elapsed < window:
        elapsed += backoff(attempts)
        attempts += 1
    return attempts


def handler(
    kind: str, *, retry_for: timedelta | None = None, lane: str | None = None
) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of `kind` (re-registering replaces it).

    `retry_for`: keep retrying a failing job this long (else MAX_ATTEMPTS attempts).
    `lane`: PROMPT or BULK (default: :func:`default_lane`).
    """
    if lane is not None and lane not in LANES:
        raise ValueError(f"unknown job lane {lane!r}")

    def register(fn: Handler) -> Handler:
        limit = attempts_within(retry_for) if retry_for is not None else MAX_ATTEMPTS
        _handlers[kind] = _Kind(fn, limit, lane or default_lane(kind))
        return fn

    return register


def registered_kinds(lane: str | None = None) -> list[str]:
    return sorted(k for k, spec in _handlers.items() if lane is None or spec.lane == lane)


async def enqueue(
    kind: str,
    payload: dict[str, Any],
    run_at: datetime | None = None,
    *,
    job_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Add a job (in the caller's transaction). ``job_id``: a known id, so that a job
    queued ahead of time (``run_at`` far off) can be started by :func:`release`."""
    now = utcnow()
    job_id = job_id or uuid.uuid4()
    await Job.insert(
        Job(id=job_id, kind=kind, payload=payload, run_at=run_at or now, created_at=now)
    )
    return job_id


async def release(job_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Make these pending jobs due now; returns the ids that were waiting."""
    if not job_ids:
        return set()
    rows = (
        await Job.update({Job.run_at: utcnow()})
        .where(Job.id.is_in(job_ids) & (Job.status == "pending"))
        .returning(Job.id)
    )
    return {uuid.UUID(str(row["id"])) for row in rows}


def wake_worker() -> None:
    """Call after a commit that enqueued work, so the in-process worker runs it now."""
    for event in _wakeups:
        event.set()


_CLAIM_SQL = """
UPDATE job SET status = 'running', locked_until = {}, attempts = attempts + 1
WHERE id IN (
    SELECT id FROM job
    WHERE kind = ANY({}) AND run_at <= {}
      AND (status = 'pending' OR (status = 'running' AND locked_until < {}))
    ORDER BY run_at
    LIMIT {}
    FOR UPDATE SKIP LOCKED
)
RETURNING id, kind, payload, attempts
"""


async def _claim(limit: int, lease: timedelta, lane: str | None = None) -> list[dict[str, Any]]:
    kinds = registered_kinds(lane)
    if not kinds:
        return []
    now = utcnow()
    if not is_sqlite():
        return list(await Job.raw(_CLAIM_SQL, now + lease, kinds, now, now, limit))
    claimable = (Job.status == "pending") | ((Job.status == "running") & (Job.locked_until < now))
    due = (
        await Job.select(Job.id)
        .where((Job.run_at <= now) & Job.kind.is_in(kinds) & claimable)
        .order_by(Job.run_at)
        .limit(limit)
    )
    claimed = []
    for row in due:
        won = (
            await Job.update(
                {
                    Job.status: "running",
                    Job.locked_until: now + lease,
                    Job.attempts: Job.attempts + 1,
                }
            )
            .where((Job.id == row["id"]) & claimable)
            .returning(Job.id, Job.kind, Job.payload, Job.attempts)
        )
        claimed.extend(won)
    return claimed


async def _run(job: dict[str, Any]) -> None:
    payload = job["payload"]
    if isinstance(payload, str):
        payload = json.loads(payload)
    spec = _handlers.get(job["kind"])
    attempts = job["attempts"]  # already counts this attempt (incremented by the claim)
    started = time.perf_counter()
    try:
        if spec is None:
            raise LookupError(f"no handler for job kind {job['kind']!r}")
        if attempts > spec.max_attempts:
            # Claimed again and again without finishing: the worker died on it each time.
            raise RuntimeError("gave up: the job outlived its attempts (worker crashes?)")
        await spec.run(payload)
    except Exception as exc:  # one failing job must not stop the others
        final = spec is None or attempts >= spec.max_attempts
        JOBS.labels(job["kind"], "failed" if final else "retry").inc()
        logger.warning(
            "job failed",
            extra={
                "fields": {
                    "job": str(job["id"]),
                    "kind": job["kind"],
                    "attempt": attempts,
                    "final": final,
                    "error": repr(exc),
                }
            },
        )
        await Job.update(
            {
                Job.status: "failed" if final else "pending",
                Job.run_at: utcnow() + backoff(attempts),
                Job.last_error: repr(exc)[:2000],
                Job.locked_until: None,
            }
        ).where(Job.id == job["id"])
        return
    finally:
        JOB_SECONDS.labels(job["kind"]).observe(time.perf_counter() - started)
    JOBS.labels(job["kind"], "done").inc()
    await Job.update({Job.status: "done", Job.done_at: utcnow(), Job.locked_until: None}).where(
        Job.id == job["id"]
    )


async def run_pending(limit: int = BATCH, lease: timedelta = LEASE, lane: str | None = None) -> int:
    """Claim and run the jobs (of one lane, or all) due now, side by side; how many ran."""
    jobs = await _claim(limit, lease, lane)
    await asyncio.gather(*(_run(job) for job in jobs))
    return len(jobs)


async def drain(max_rounds: int = 50) -> None:
    """Run jobs until none is due (tests and one-off commands)."""
    for _ in range(max_rounds):
        if await run_pending() == 0:
            return


async def queue_depth() -> dict[tuple[str, str], int]:
    """Jobs not done, by (kind, status): pending, running, failed."""
    rows = (
        await Job.select(Job.kind, Job.status, Count(Job.id, alias="n"))
        .where(Job.status != "done")
        .group_by(Job.kind, Job.status)
    )
    return {(r["kind"], r["status"]): r["n"] for r in rows}


async def worker_loop(
    poll_seconds: float = 1.0, lease: timedelta = LEASE, stop: asyncio.Event | None = None
) -> None:
    """Run due jobs until cancelled or `stop` is set (then finish the rounds in hand):
    one claim loop per lane, side by side, so bulk work never holds up prompt work."""
    await asyncio.gather(*(_lane_loop(lane, poll_seconds, lease, stop) for lane in LANES))


async def _lane_loop(
    lane: str, poll_seconds: float, lease: timedelta, stop: asyncio.Event | None
) -> None:
    wakeup = asyncio.Event()
    _wakeups.append(wakeup)
    try:
        while stop is None or not stop.is_set():
            try:
                ran = await run_pending(lease=lease, lane=lane)
            except Exception:
                logger.exception("worker round failed", extra={"fields": {"lane": lane}})
                ran = 0
            if ran:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), timeout=poll_seconds)
            wakeup.clear()
    finally:
        _wakeups.remove(wakeup)
