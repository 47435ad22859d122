"""The API a business system relies on: idempotent POSTs, cursor pages, key rotation,
readiness and metrics."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.integration.api_org import new_org_auth
from tests.integration.journey import car_purchase_body

_n = iter(range(3000, 4000))


def body() -> dict[str, Any]:
    n = next(_n)
    return car_purchase_body(f"1330000{n:04d}", f"1320000{n:04d}")


@pytest.fixture(scope="module")
async def auth(client: Any) -> dict[str, str]:
    return await new_org_auth("api")


async def test_idempotency_key_replays_the_first_response(
    client: Any, auth: dict[str, str]
) -> None:
    payload = body()
    headers = {**auth, "Idempotency-Key": f"order-{uuid.uuid4()}"}
    first = await client.post("/api/v1/envelopes", json=payload, headers=headers)
    again = await client.post("/api/v1/envelopes", json=payload, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()  # one envelope, not two
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers

    other = await client.post("/api/v1/envelopes", json=body(), headers=headers)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert other.json()["error"]["message"]  # Chinese first, like every error

    # The same key under another organisation is another key.
    elsewhere = await new_org_auth("api-other")
    theirs = await client.post(
        "/api/v1/envelopes", json=payload, headers={**elsewhere, **headers, **elsewhere}
    )
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]


async def test_idempotency_remembers_errors_but_not_without_a_key(
    client: Any, auth: dict[str, str]
) -> None:
    headers = {**auth, "Idempotency-Key": "bad-1-" + uuid.uuid4().hex}
    bad = {"template": "car-purchase", "data": {}, "signers": []}
    first = await client.post("/api/v1/envelopes", json=bad, headers=headers)
    again = await client.post("/api/v1/envelopes", json=bad, headers=headers)
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()
    unkeyed = await client.post("/api/v1/keys", json={"label": "a"}, headers=auth)
    unkeyed2 = await client.post("/api/v1/keys", json={"label": "a"}, headers=auth)
    assert unkeyed.json()["id"] != unkeyed2.json()["id"]


async def test_envelope_list_pages_by_cursor(client: Any) -> None:
    auth = await new_org_auth("pages")
    made = []
    for _ in range(3):
        created = await client.post("/api/v1/envelopes", json=body(), headers=auth)
        assert created.status_code == 201
        made.append(created.json()["id"])

    first = (await client.get("/api/v1/envelopes", params={"limit": 2}, headers=auth)).json()
    assert [e["id"] for e in first["items"]] == made[::-1][:2]  # newest first
    assert first["next_cursor"]
    second = (
        await client.get(
            "/api/v1/envelopes",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=auth,
        )
    ).json()
    assert [e["id"] for e in second["items"]] == made[:1]
    assert second["next_cursor"] is None

    sent = await client.get("/api/v1/envelopes", params={"status": "sent"}, headers=auth)
    assert len(sent.json()["items"]) == 3
    done = await client.get("/api/v1/envelopes", params={"status": "completed"}, headers=auth)
    assert done.json() == {"items": [], "next_cursor": None}

    for params in ({"cursor": "not-a-cursor"}, {"limit": 0}, {"status": "lost"}):
        bad = await client.get("/api/v1/envelopes", params=params, headers=auth)
        assert bad.status_code == 400, params
        assert bad.json()["error"]["code"] == "validation_failed"


async def test_api_keys_rotate_and_revoke(client: Any) -> None:
    old = await new_org_auth("keys")
    made = await client.post("/api/v1/keys", json={"label": "erp-2026"}, headers=old)
    assert made.status_code == 201
    new = {"Authorization": f"Bearer {made.json()['key']}"}
    listed = (await client.get("/api/v1/keys", headers=new)).json()
    assert len(listed) == 2 and all("key" not in k for k in listed)

    old_id = next(k["id"] for k in listed if k["id"] != made.json()["id"])
    revoked = await client.post(f"/api/v1/keys/{old_id}/revoke", headers=new)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert (await client.get("/api/v1/envelopes", headers=old)).status_code == 401
    assert (await client.get("/api/v1/envelopes", headers=new)).status_code == 200

    last = await client.post(f"/api/v1/keys/{made.json()['id']}/revoke", headers=new)
    assert last.status_code == 409 and last.json()["error"]["code"] == "last_api_key"
    other = await new_org_auth("keys-other")
    assert (await client.post(f"/api/v1/keys/{old_id}/revoke", headers=other)).status_code == 404


async def test_readyz_and_metrics(client: Any, auth: dict[str, str]) -> None:
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "ca": "ok"}

    await client.get(f"/api/v1/envelopes/{uuid.uuid4()}", headers=auth)
    text = (await client.get("/metrics")).text
    assert 'path="/api/v1/envelopes/{envelope_id}"' in text
    assert "signlink_request_duration_seconds_bucket" in text
    assert "signlink_job_queue" in text
    assert "/s/" not in text.replace('path="/s/{token}', "")  # never a signing token


# ---------------------------------------------------------------- schemathesis
# Requests generated from our own OpenAPI document (/api/docs/openapi.json), sent to a real
# server process: no 5xx for any of them, and every response whose status the document
# declares must match its schema and content type. Bounded: a few examples per operation
# and a time budget for the whole set. Statuses the document does not list (401, 404, 409)
# are not failures here.

CONTRACT_EXAMPLES = 10
CONTRACT_BUDGET_SECONDS = 60.0
_contract_started: list[float] = []


@pytest.fixture(scope="module")
def contract_server(client: Any) -> Iterator[str]:
    """The app served by uvicorn on loopback, on the test session's database and data dir
    (`client` first: the session's app has migrated and created the CA)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "SIGNLINK_RUN_WORKER": "false", "SIGNLINK_LOG_LEVEL": "WARNING"}
    argv = [sys.executable, "-m", "uvicorn", "backend.app:create_app", "--factory"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "contract server did not start"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
async def contract_auth(contract_server: str) -> dict[str, str]:
    return await new_org_auth("contract")  # its own organisation: nothing else to break


@pytest.fixture(scope="module")
def contract_session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def _openapi_document() -> dict[str, Any]:
    """The document /api/docs/openapi.json serves (the contract server is checked to serve
    the same). Built at collection: schemathesis' lazy fixture loader does not run on
    pytest 9."""
    from backend.app import create_app

    return create_app().openapi_schema.to_schema()


OPENAPI = _openapi_document()
contract = schemathesis.openapi.from_dict(OPENAPI)


def test_contract_server_serves_the_same_document(contract_server: str) -> None:
    served = requests.get(f"{contract_server}/api/docs/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == OPENAPI


@contract.parametrize()
@settings(
    max_examples=CONTRACT_EXAMPLES,
    deadline=timedelta(seconds=10),
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_matches_its_openapi_document(
    case: Any,
    contract_server: str,
    contract_auth: dict[str, str],
    contract_session: requests.Session,
) -> None:
    if not _contract_started:
        _contract_started.append(time.monotonic())
    if time.monotonic() - _contract_started[0] > CONTRACT_BUDGET_SECONDS:
        pytest.skip("contract-test time budget spent")
    case.call_and_validate(
        base_url=contract_server,
        session=contract_session,
        headers=contract_auth,
        timeout=30,
        checks=[
            not_a_server_error,
            response_schema_conformance,
            content_type_conformance,
        ],
    )
