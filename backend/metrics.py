"""Prometheus metrics of the domains (HTTP request metrics come from Litestar's plugin).

With several server processes set PROMETHEUS_MULTIPROC_DIR to a shared empty folder, so
/metrics adds up every process (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram

from backend.notify.sms import SmsProvider, SmsReceipt

JOBS = Counter("signlink_jobs_total", "Job attempts by kind and outcome", ["kind", "outcome"])
JOB_SECONDS = Histogram("signlink_job_seconds", "Time one job attempt took", ["kind"])
JOB_QUEUE = Gauge(
    "signlink_job_queue",
    "Jobs not done, by kind and status",
    ["kind", "status"],
    multiprocess_mode="mostrecent",
)
WEBHOOK_DELIVERIES = Counter(
    "signlink_webhook_attempts_total", "Webhook delivery attempts by outcome", ["outcome"]
)
SMS = Counter(
    "signlink_sms_total", "SMS sent through a provider, by outcome", ["provider", "outcome"]
)
SMS_SECONDS = Histogram("signlink_sms_seconds", "Time the SMS provider took", ["provider"])


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
