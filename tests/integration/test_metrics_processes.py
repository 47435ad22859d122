"""Two real server processes: /metrics reports the requests of both on every scrape,
whichever process answers it (prometheus_client's multiprocess mode), and each request
leaves one JSON log line with its request id and without the signing link."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.load import Server, prepare

REQUESTS = 60


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    work = tmp_path_factory.mktemp("served")
    (work / "metrics").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SIGNLINK_DATA_DIR"}}
    env |= {
        "SIGNLINK_DATA_DIR": str(work / "var"),
        "SIGNLINK_LOG_LEVEL": "INFO",
        "SIGNLINK_LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    prepare(env)
    with Server("backend.app:create_app", 2, env, work / "server.log") as server:
        server.wait_ready("/healthz", timeout=120)
        yield server, work


def _requests_total(text: str, path: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith("signlink_requests_total{") and f'path="{path}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_add_up_every_server_process(served: tuple[Server, Path]) -> None:
    server, work = served
    for _ in range(REQUESTS):  # a new connection each: the kernel spreads them out
        assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
    served_by = {p.name for p in (work / "metrics").glob("counter_*.db")}
    # Both processes answered some of the requests (else this test proves nothing).
    assert len(served_by) >= 2, served_by
    scrapes = []
    for _ in range(8):
        reply = httpx.get(server.url + "/metrics", timeout=10)
        assert reply.status_code == 200
        scrapes.append(reply.text)
    # wait_ready's probes are requests to /healthz too: at least ours, the same each time
    totals = {_requests_total(text, "/healthz") for text in scrapes}
    assert len(totals) == 1 and totals.pop() >= REQUESTS
    for text in scrapes:
        # the queue depth is one gauge read from the database, not one per process
        assert "# TYPE signlink_job_queue gauge" in text
        assert not re.search(r"^signlink_job_queue\{[^}]*pid=", text, re.M)


def test_request_log_is_json_with_the_request_id_and_no_link(
    served: tuple[Server, Path],
) -> None:
    server, work = served
    token = "Zx9" * 6  # shaped like a signing link token (unknown: the page says so)
    reply = httpx.get(f"{server.url}/s/{token}", headers={"X-Request-ID": "trace-4711ab"})
    assert reply.status_code == 404 and reply.headers["x-request-id"] == "trace-4711ab"
    mine: list[dict[str, object]] = []
    for _ in range(50):  # the line is written just after the response went out
        lines = (work / "server.log").read_text().splitlines()
        entries = [json.loads(line) for line in lines if line.startswith("{")]
        mine = [e for e in entries if e.get("request_id") == "trace-4711ab"]
        if mine:
            break
        time.sleep(0.1)
    assert mine and mine[-1]["path"] == "/s/***" and mine[-1]["status"] == 404
    assert token not in "\n".join(lines)
