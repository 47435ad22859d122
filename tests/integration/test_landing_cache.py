"""The signer landing page is kept once rendered, and never shown stale: every change to
the rows it is made from (by this process, another one, or the clock) shows at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.database import is_sqlite, utcnow
from backend.envelopes import page_cache, services
from backend.envelopes.tables import Envelope, Signer
from tests.integration.journey import new_envelope, sign_as


async def test_second_view_is_the_kept_page_and_a_change_elsewhere_shows_at_once(
    client, auth, outbox
):
    envelope_id, link, _, _ = await new_envelope(client, auth, outbox)
    first = await client.get(link)  # records signer.viewed: rendered, not kept
    assert first.status_code == 200
    hits = page_cache.pages.hits
    second = await client.get(link)  # rendered from the viewed rows and kept
    third = await client.get(link)
    assert page_cache.pages.hits == hits + 1
    assert third.status_code == 200
    assert third.text == second.text
    assert third.headers["content-type"].startswith("text/html")
    assert "Accept-Language" in third.headers["vary"]
    assert third.headers["x-request-id"] != second.headers["x-request-id"]
    assert 'data-testid="otp-send"' in third.text and "张三" in third.text

    # Another process renames the signer (here: straight in the database, as it would).
    await Signer.update({Signer.name: "张三丰"}).where(
        (Signer.envelope == envelope_id) & (Signer.role == "buyer")
    )
    renamed = await client.get(link)
    assert "张三丰" in renamed.text

    # The deadline passes: the unsigned link is dead from the next view on.
    await Envelope.update({Envelope.expires_at: utcnow() - timedelta(minutes=1)}).where(
        Envelope.id == envelope_id
    )
    expired = await client.get(link)
    assert expired.status_code == 404
    assert 'data-testid="otp-send"' not in expired.text


async def test_each_language_has_its_own_page(client, auth, outbox):
    _, link, _, _ = await new_envelope(client, auth, outbox)
    await client.get(link)
    chinese = [await client.get(link) for _ in range(2)]
    english = [await client.get(link, headers={"Accept-Language": "en"}) for _ in range(2)]
    assert chinese[0].text == chinese[1].text and english[0].text == english[1].text
    assert "邀请您签署" in chinese[1].text and "邀请您签署" not in english[1].text
    assert 'lang="en"' in english[1].text


async def test_a_signature_ends_the_kept_page(client, auth, outbox):
    _, link, buyer, _ = await new_envelope(client, auth, outbox)
    await client.get(link)
    await client.get(link)
    kept = await client.get(link)
    assert 'data-testid="otp-send"' in kept.text
    await sign_as(client, outbox, link, buyer)
    after = await client.get(link, follow_redirects=False)
    assert after.status_code in (302, 303)
    assert after.headers["location"] == f"{link}/done"


async def test_voiding_ends_the_kept_page(client, auth, outbox):
    envelope_id, link, _, _ = await new_envelope(client, auth, outbox)
    await client.get(link)
    await client.get(link)
    assert (await client.get(link)).status_code == 200
    voided = await client.post(
        f"/api/v1/envelopes/{envelope_id}/void", json={"reason": "客户取消"}, headers=auth
    )
    assert voided.status_code == 200, voided.text
    gone = await client.get(link)
    assert gone.status_code == 404


def test_the_key_names_the_deadline_and_the_rows():
    now = utcnow()
    rows = [("row", 1)]
    before = page_cache.page_key("t" * 20, rows, now + timedelta(hours=1))
    assert before == page_cache.page_key("t" * 20, rows, now + timedelta(hours=2))
    assert before != page_cache.page_key("t" * 20, rows, now - timedelta(seconds=1))
    assert before != page_cache.page_key("t" * 20, [("row", 2)], now + timedelta(hours=1))
    assert before != page_cache.page_key("u" * 20, rows, now + timedelta(hours=1))


async def test_a_busy_sqlite_read_renders_the_page_as_usual(client, auth, outbox, monkeypatch):
    """SQLite answered busy (or the request is inside a transaction): no stored rows to
    compare, so the page is rendered as usual and nothing is kept."""
    if not is_sqlite():
        pytest.skip("the stored-row look-up is SQLite's")
    _, link, _, _ = await new_envelope(client, auth, outbox)
    await client.get(link)
    monkeypatch.setattr(services, "link_rows_stored", lambda token_hash: None)
    kept = len(page_cache.pages)
    pages = [await client.get(link) for _ in range(2)]
    assert [p.status_code for p in pages] == [200, 200]
    assert 'data-testid="otp-send"' in pages[1].text
    assert len(page_cache.pages) == kept
