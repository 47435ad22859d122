"""Helpers shared by the identity tests (unit and integration)."""

from __future__ import annotations

import dataclasses
import io
import itertools
import random
from typing import Any

from PIL import Image

from tests.integration.journey import car_purchase_body, wait_for_sms

# Valid GB 11643 numbers; the sandbox answers by these (backend/identity/README.md).
ID_MATCH = "110105199003070017"
ID_MISMATCH = "110105199003070025"
ID_NO_RECORD = "110105199003070033"
ID_ERROR = "110105199003070041"
ID_X = "11010519900307005X"
ID_BAD_CHECKSUM = "110105199003070018"
CARD = "6222021234567890128"
CARD_BAD_LUHN = "6222021234567890120"

_numbers = itertools.count(random.randint(0, 4000))


def phones() -> tuple[str, str]:
    # A number range no other test helper uses: the outbox finds a phone's link by its
    # number, so a phone shared with another test's envelope picks up the wrong link.
    n = next(_numbers) % 10000
    return f"1570000{n:04d}", f"1560000{n:04d}"


def identity_body(
    buyer: str, dealer: str, level: str = "phone3", contract_id: str | None = None
) -> dict[str, Any]:
    """A car purchase whose buyer must verify at ``level``.

    ``contract_id`` is the buyer's ID number written into the contract; without it the
    contract names none, so any valid number may be claimed (the sandbox identities).
    """
    body = car_purchase_body(buyer, dealer)
    body["signers"][0]["identity"] = level
    if contract_id is None:
        del body["data"]["buyer"]["id_number"]
    else:
        body["data"]["buyer"]["id_number"] = contract_id
    return body


async def identity_envelope(
    client: Any,
    auth: dict[str, str],
    outbox: Any,
    level: str = "phone3",
    contract_id: str | None = None,
):
    """An envelope whose buyer must verify at ``level``; returns (id, link, buyer phone)."""
    buyer, dealer = phones()
    body = identity_body(buyer, dealer, level, contract_id)
    created = await client.post("/api/v1/envelopes", json=body, headers=auth)
    assert created.status_code == 201, created.text
    await wait_for_sms(outbox, buyer)
    return created.json()["id"], outbox.link_for(buyer), buyer


async def claim(client: Any, link: str, id_number: str = ID_MATCH, id_type: str = "id_card"):
    return await client.post(
        f"{link}/identity",
        data={"name": "张三", "id_type": id_type, "id_number": id_number},
        follow_redirects=False,
    )


def relaxed(settings: Any, **changes: Any) -> Any:
    """Settings for a test: no resend wait, generous shared limits unless a test sets them."""
    base = {"otp_resend_seconds": 0, "identity_checks_per_ip": 10_000}
    return dataclasses.replace(settings, **{**base, **changes})


def photo(size: tuple[int, int] = (800, 600), fmt: str = "JPEG") -> bytes:
    im = Image.new("RGB", size, (200, 180, 160))
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()
