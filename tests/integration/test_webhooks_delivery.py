"""Webhooks as a business system sees them: signed events, retries, the log, replay."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from backend.config import get_settings
from backend.webhooks import services as webhooks
from tests.integration.api_org import new_org_auth
from tests.integration.journey import car_purchase_body, wait_for_sms
from tests.integration.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
async def allow_private(client: Any) -> AsyncIterator[None]:
    """The receiver is on loopback: allow it, as SIGNLINK_WEBHOOK_ALLOW_PRIVATE=true does."""
    webhooks.register(dataclasses.replace(get_settings(), webhook_allow_private=True))
    yield
    webhooks.register(get_settings())


@pytest.fixture(scope="module")
async def auth(client: Any) -> dict[str, str]:
    return await new_org_auth("webhooks")


_n = iter(range(2000, 3000))


async def create_envelope(client: Any, auth: dict[str, str], **extra: Any) -> dict[str, Any]:
    """A car purchase; the result carries the buyer's phone in clear as `buyer_phone`."""
    n = next(_n)
    buyer = f"1350000{n:04d}"
    body = {**car_purchase_body(buyer, f"1340000{n:04d}"), **extra}
    created = await client.post("/api/v1/envelopes", json=body, headers=auth)
    assert created.status_code == 201, created.text
    return {**created.json(), "buyer_phone": buyer}


async def poll(fetch: Any, done: Any, timeout: float = 20) -> Any:
    """Call `fetch` until `done(result)`; returns the last result."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    result = await fetch()
    while not done(result) and loop.time() < deadline:
        await asyncio.sleep(0.1)
        result = await fetch()
    return result


async def add_endpoint(client: Any, auth: dict[str, str], url: str, **extra: Any) -> dict:
    made = await client.post("/api/v1/webhooks", json={"url": url, **extra}, headers=auth)
    assert made.status_code == 201, made.text
    return made.json()


def signed_by(hit: dict[str, Any], secret: str) -> bool:
    return webhooks.verify_signature(secret, hit["body"], hit["headers"]["SignLink-Signature"])


async def test_events_reach_endpoint_and_callback_signed(
    client: Any, auth: dict[str, str], receiver: Receiver, allow_private: None, outbox: Any
) -> None:
    endpoint = await add_endpoint(client, auth, receiver.url + "/hook")
    assert endpoint["secret"].startswith("whsec_")
    env = await create_envelope(client, auth, callback_url=receiver.url + "/callback")

    await receiver.wait_for(lambda: len(receiver.hits) >= 2)
    by_path = {h["path"]: h for h in receiver.hits}
    sent = json.loads(by_path["/hook"]["body"])
    assert sent["type"] == "envelope.sent"
    assert sent["data"]["envelope"]["id"] == env["id"]
    assert set(sent) == {"id", "type", "created_at", "data"}
    assert by_path["/hook"]["headers"]["SignLink-Event-Id"] == sent["id"]
    assert signed_by(by_path["/hook"], endpoint["secret"])
    assert not signed_by(by_path["/hook"], "whsec_wrong")

    callback_secret = (await client.get("/api/v1/webhooks/callback-secret", headers=auth)).json()
    assert json.loads(by_path["/callback"]["body"])["id"] == sent["id"]
    assert signed_by(by_path["/callback"], callback_secret["secret"])
    assert not signed_by(by_path["/callback"], endpoint["secret"])

    # The buyer opens the link: signer.viewed, without the IP or user agent in the payload.
    await wait_for_sms(outbox, env["buyer_phone"])
    link = outbox.link_for(env["buyer_phone"])
    assert (await client.get(link)).status_code == 200
    await receiver.wait_for(
        lambda: len([e for e in receiver.events() if e["type"] == "signer.viewed"]) == 2
    )
    viewed = next(e for e in receiver.events("/hook") if e["type"] == "signer.viewed")
    assert viewed["data"]["signer"]["role"] == "buyer"
    assert "ip" not in json.dumps(viewed["data"])

    log = await client.get(
        "/api/v1/webhooks/deliveries", params={"envelope_id": env["id"]}, headers=auth
    )
    assert log.status_code == 200
    items = log.json()["items"]
    assert {i["status"] for i in items} == {"delivered"}
    assert {i["endpoint_id"] for i in items} == {endpoint["id"], None}


async def test_failed_delivery_is_retried_then_replayed(
    client: Any, auth: dict[str, str], receiver: Receiver, allow_private: None
) -> None:
    endpoint = await add_endpoint(client, auth, receiver.url, events=["envelope.sent"])
    receiver.statuses = [500]  # first attempt fails
    env = await create_envelope(client, auth)

    await receiver.wait_for(lambda: len(receiver.hits) >= 2, timeout=20)  # 2 s backoff
    first, second = receiver.events()[:2]
    assert first["id"] == second["id"]  # the same event, not a new one
    assert receiver.processed[first["id"]] == 1

    async def delivery() -> dict[str, Any]:
        page = await client.get(
            "/api/v1/webhooks/deliveries",
            params={"endpoint_id": endpoint["id"], "envelope_id": env["id"]},
            headers=auth,
        )
        return page.json()["items"][0]

    d = await poll(delivery, lambda d: d["status"] == "delivered")
    assert d["status"] == "delivered" and d["attempts"] == 2 and d["last_status_code"] == 200

    replayed = await client.post(f"/api/v1/webhooks/deliveries/{d['id']}/replay", headers=auth)
    assert replayed.status_code == 202, replayed.text
    assert replayed.json()["replay_of"] == d["id"]
    await receiver.wait_for(lambda: len(receiver.hits) >= 3)
    third = receiver.hits[2]
    assert json.loads(third["body"])["id"] == first["id"]
    assert signed_by(third, endpoint["secret"])  # signed afresh
    assert receiver.processed[first["id"]] == 1  # the receiver's dedupe keeps it once


async def test_endpoint_crud_and_validation(client: Any, auth: dict[str, str]) -> None:
    bad = await client.post(
        "/api/v1/webhooks", json={"url": "ftp://example.com/x", "events": ["nope"]}, headers=auth
    )
    assert bad.status_code == 400
    assert {f["path"] for f in bad.json()["error"]["fields"]} == {"url", "events"}

    private = await client.post(
        "/api/v1/webhooks", json={"url": "http://169.254.169.254/latest"}, headers=auth
    )
    assert private.status_code == 400

    made = await add_endpoint(client, auth, "https://erp.example.com/signlink", description="ERP")
    listed = (await client.get("/api/v1/webhooks", headers=auth)).json()
    assert made["id"] in {e["id"] for e in listed}
    assert all("secret" not in e for e in listed)

    patched = await client.patch(
        f"/api/v1/webhooks/{made['id']}",
        json={"events": ["envelope.completed"], "active": False},
        headers=auth,
    )
    assert patched.status_code == 200
    assert patched.json()["events"] == ["envelope.completed"] and not patched.json()["active"]

    rotated = await client.post(f"/api/v1/webhooks/{made['id']}/rotate-secret", headers=auth)
    assert rotated.status_code == 200 and rotated.json()["secret"] != made["secret"]

    other = await new_org_auth("someone-else")
    assert (await client.get(f"/api/v1/webhooks/{made['id']}", headers=other)).status_code == 404

    assert (await client.delete(f"/api/v1/webhooks/{made['id']}", headers=auth)).status_code == 204
    assert (await client.get(f"/api/v1/webhooks/{made['id']}", headers=auth)).status_code == 404
    missing = await client.post(f"/api/v1/webhooks/deliveries/{uuid.uuid4()}/replay", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_private_destinations_are_refused_by_default(
    client: Any, auth: dict[str, str], receiver: Receiver
) -> None:
    # "localhost" is a name, so it passes creation; the resolved address is checked at delivery.
    port = receiver.url.rsplit(":", 1)[1]
    endpoint = await add_endpoint(client, auth, f"http://localhost:{port}/hook")
    env = await create_envelope(client, auth)

    async def deliveries() -> list[dict[str, Any]]:
        page = await client.get(
            "/api/v1/webhooks/deliveries",
            params={"endpoint_id": endpoint["id"], "envelope_id": env["id"]},
            headers=auth,
        )
        return page.json()["items"]

    items = await poll(deliveries, lambda items: items and items[0]["status"] == "failed")
    assert items[0]["status"] == "failed"
    assert "non-public" in items[0]["last_error"]
    assert receiver.hits == []
    await client.delete(f"/api/v1/webhooks/{endpoint['id']}", headers=auth)
