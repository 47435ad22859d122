"""HTTP request metrics: what Litestar's Prometheus middleware recorded, for a fraction
of its cost per request.

The same four series (``signlink_requests_total``, ``signlink_request_duration_seconds``,
``signlink_requests_in_progress``, ``signlink_requests_error_total``) with the same labels
(``method``, ``path`` -- the route template, never a path holding a signer's token --,
``status_code``, ``app_name``). Litestar's middleware built a ``Request``, two label
dicts and four labelled children on every request (about a quarter of a cached signer
page); here the labelled children are looked up once per (method, route, status) and
kept. Multiprocess mode works as before (``backend/metrics.py``).
"""

from __future__ import annotations

import re
import time
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Gauge, Histogram

APP_NAME = "signlink"
LABELS = ["method", "path", "status_code", "app_name"]
EXCLUDED = re.compile(r"^/metrics|^/static/")

REQUESTS = Counter("signlink_requests", "Total requests", LABELS)
DURATION = Histogram("signlink_request_duration_seconds", "Request duration, in seconds", LABELS)
IN_PROGRESS = Gauge(
    "signlink_requests_in_progress",
    "Total requests currently in progress",
    LABELS,
    multiprocess_mode="livesum",
)
ERRORS = Counter("signlink_requests_error_total", "Total errors in requests", LABELS)

_children: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}
_in_progress: dict[tuple[str, str], Any] = {}


def _series(method: str, path: str, status: int) -> tuple[Any, Any, Any]:
    key = (method, path, status)
    found = _children.get(key)
    if found is None:
        values = (method, path, str(status), APP_NAME)
        errors = ERRORS.labels(*values) if status >= 500 else None
        found = _children[key] = (REQUESTS.labels(*values), DURATION.labels(*values), errors)
    return found


def _gauge(method: str, path: str) -> Any:
    found = _in_progress.get((method, path))
    if found is None:
        # As Litestar's middleware labelled it: in progress has no status yet, so 200.
        found = _in_progress[(method, path)] = IN_PROGRESS.labels(method, path, "200", APP_NAME)
    return found


class RequestMetricsMiddleware:
    """Counts and times every request that reached a route (unknown paths, /metrics and
    /static are left out, as before)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        template = scope.get("path_template")
        if scope["type"] != "http" or template is None or EXCLUDED.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        method = str(scope.get("method", ""))
        started = time.perf_counter()
        status = 200
        ended = 0.0

        async def timed_send(message: Message) -> None:
            nonlocal status, ended
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                ended = time.perf_counter()
            await send(message)

        gauge = _gauge(method, template)
        gauge.inc()
        try:
            await self.app(scope, receive, timed_send)
        finally:
            gauge.dec()
            requests, duration, errors = _series(method, template, status)
            if errors is not None:
                errors.inc()
            requests.inc()
            duration.observe((ended or time.perf_counter()) - started)
