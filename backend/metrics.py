"""Prometheus metrics of the domains (HTTP request metrics: ``backend/http_metrics.py``).

Several server processes (``uvicorn --workers N``, ``python -m backend.jobs`` workers on
the same host): set ``PROMETHEUS_MULTIPROC_DIR`` to a folder that is empty when the
processes start (wipe it in the start script), the same for all of them. Each process
then keeps its counters and histograms in files there, and whichever process answers
/metrics adds up every process (prometheus_client's multiprocess mode): the totals are
the same on every scrape. In-progress gauges count live processes only -- files of
processes that died are retired at each scrape. The job queue depth is not kept per
process at all: it is read from the database at scrape time.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Iterable, Iterator

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from backend.notify.sms import SmsProvider, SmsReceipt

JOBS = Counter("signlink_jobs_total", "Job attempts by kind and outcome", ["kind", "outcome"])
JOB_SECONDS = Histogram("signlink_job_seconds", "Time one job attempt took", ["kind"])
WEBHOOK_DELIVERIES = Counter(
    "signlink_webhook_attempts_total", "Webhook delivery attempts by outcome", ["outcome"]
)
SMS = Counter(
    "signlink_sms_total", "SMS sent through a provider, by outcome", ["provider", "outcome"]
)
SMS_SECONDS = Histogram("signlink_sms_seconds", "Time the SMS provider took", ["provider"])
WECHAT_CALLS = Counter(
    "signlink_wechat_calls_total",
    "Calls to the WeChat API (token, getticket), by outcome: ok, refused (a non-zero "
    "errcode), unavailable (timeout, HTTP error, not the documented answer)",
    ["call", "outcome"],
)
WECHAT_SHARE_PAGES = Counter(
    "signlink_wechat_share_pages_total",
    "Share pages rendered with a WeChat JS-SDK configuration (configured) or without one "
    "because no jsapi_ticket could be had (unavailable)",
    ["outcome"],
)


class InstrumentedSms:
    """An SMS provider that counts outcomes and times the provider."""

    def __init__(self, inner: SmsProvider) -> None:
        self.inner = inner
        self.name = inner.name

    async def send(self, to: str, text: str) -> SmsReceipt:
        started = time.perf_counter()
        try:
            receipt = await self.inner.send(to, text)
        except Exception:
            SMS.labels(self.name, "error").inc()
            raise
        finally:
            SMS_SECONDS.labels(self.name).observe(time.perf_counter() - started)
        SMS.labels(self.name, "sent").inc()
        return receipt


MULTIPROC_DIR_VAR = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR_VAR) or None


def retire_dead_processes(directory: str) -> None:
    """Drop the live-gauge files of processes that are gone (a worker the supervisor
    restarted), so requests in progress count only processes that still run."""
    pids: set[int] = set()
    for path in glob.glob(os.path.join(directory, "gauge_live*_*.db")):
        tail = os.path.basename(path).rsplit("_", 1)[-1].removesuffix(".db")
        if tail.isdigit():
            pids.add(int(tail))
    for pid in pids:
        if not _alive(pid):
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Fixed:
    """A collector for metric families computed for one scrape."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def job_queue_family(depth: dict[tuple[str, str], int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "signlink_job_queue", "Jobs not done, by kind and status", labels=["kind", "status"]
    )
    for (kind, status), n in sorted(depth.items()):
        family.add_metric([kind, status], n)
    return family


def exposition(job_queue: dict[tuple[str, str], int] | None) -> bytes:
    """The /metrics body: every process's metrics (multiprocess mode) or this one's, and
    the job queue as read from the database for this scrape (None: not available)."""
    registry = CollectorRegistry()
    directory = multiprocess_dir()
    if directory:
        retire_dead_processes(directory)
        multiprocess.MultiProcessCollector(registry, directory)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Fixed(REGISTRY.collect()))
    if job_queue is not None:
        registry.register(_Fixed([job_queue_family(job_queue)]))
    return generate_latest(registry)
