"""/metrics with several server processes: every scrape, whichever process answers it,
reports the requests of all of them (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx

from bench.load import Server, prepare

REQUESTS = 60


def _requests_total(text: str, path: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith("signlink_requests_total{") and f'path="{path}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_add_up_every_server_process(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SIGNLINK_DATA_DIR"}}
    env |= {
        "SIGNLINK_DATA_DIR": str(tmp_path / "var"),
        "SIGNLINK_LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    prepare(env)
    with Server("backend.app:create_app", 2, env, tmp_path / "server.log") as server:
        server.wait_ready("/healthz", timeout=120)
        for _ in range(REQUESTS):  # a new connection each: the kernel spreads them out
            assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
        served_by = {p.name for p in metrics_dir.glob("counter_*.db")}
        # Both processes answered some of the requests (else this test proves nothing).
        assert len(served_by) >= 2, served_by
        scrapes = []
        for _ in range(8):
            reply = httpx.get(server.url + "/metrics", timeout=10)
            assert reply.status_code == 200
            scrapes.append(reply.text)
    # wait_ready's probes are requests to /healthz too: count at least ours, same each time
    totals = {_requests_total(text, "/healthz") for text in scrapes}
    assert len(totals) == 1 and totals.pop() >= REQUESTS
    for text in scrapes:
        # the queue depth is one gauge from the database, not one per process
        assert "# TYPE signlink_job_queue gauge" in text
        assert not re.search(r"^signlink_job_queue\{[^}]*pid=", text, re.M)
