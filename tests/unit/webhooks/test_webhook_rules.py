"""Signatures a receiver can check, the addresses webhooks refuse, the 24 h retry window."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from backend.jobs.services import attempts_within, backoff
from backend.webhooks.services import (
    BlockedDestination,
    resolve_destination,
    sign_body,
    verify_signature,
)


def test_signature_is_hmac_of_timestamp_and_body() -> None:
    import hashlib
    import hmac

    header = sign_body("whsec_x", '{"id":"1"}', timestamp=1700000000)
    mac = hmac.new(b"whsec_x", b'1700000000.{"id":"1"}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={mac}"


def test_receiver_check_rejects_tampering_and_old_timestamps() -> None:
    body = '{"id":"evt"}'
    assert verify_signature("s", body, sign_body("s", body))
    assert not verify_signature("s", body + " ", sign_body("s", body))
    assert not verify_signature("other", body, sign_body("s", body))
    assert not verify_signature("s", body, sign_body("s", body, int(time.time()) - 3600))
    assert not verify_signature("s", body, "garbage")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://10.1.2.3/x",
        "http://192.168.1.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://100.64.0.1/x",
        "http://0.0.0.0/x",
        "http://localhost/x",
    ],
)
async def test_non_public_destinations_are_refused(url: str) -> None:
    with pytest.raises(BlockedDestination):
        await resolve_destination(url, allow_private=False)
    assert await resolve_destination(url, allow_private=True)


async def test_public_address_is_allowed() -> None:
    assert await resolve_destination("https://8.8.8.8/hook", allow_private=False) == ["8.8.8.8"]


def test_retries_span_24_hours() -> None:
    attempts = attempts_within(timedelta(hours=24))
    waited = sum((backoff(a) for a in range(1, attempts)), timedelta())
    assert timedelta(hours=24) <= waited < timedelta(hours=25)
    assert backoff(1) == timedelta(seconds=2) and backoff(40) == timedelta(hours=1)
