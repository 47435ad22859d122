"""Page images in several widths: phones on slow networks download the narrow ones."""

from __future__ import annotations

import io
import re
import uuid

from PIL import Image

from backend.envelopes.services import PAGE_WIDTH, PAGE_WIDTHS
from backend.envelopes.tables import Envelope, PageImage
from tests.integration.journey import (
    car_purchase_body,
    fresh_phones,
    unlock_batch,
    wait_for_sms,
)


async def _link(client, auth, outbox) -> tuple[str, str]:
    buyer, dealer = fresh_phones()
    created = await client.post(
        "/api/v1/envelopes", json=car_purchase_body(buyer, dealer), headers=auth
    )
    assert created.status_code == 201, created.text
    await wait_for_sms(outbox, buyer)
    return created.json()["id"], outbox.link_for(buyer)


def _srcsets(html: str) -> list[dict[int, str]]:
    found = []
    for value in re.findall(r'srcset="([^"]+)"', html):
        candidates = {}
        for candidate in value.replace("&amp;", "&").split(", "):
            url, width = candidate.rsplit(" ", 1)
            candidates[int(width.removesuffix("w"))] = url
        found.append(candidates)
    return found


async def test_every_page_offers_each_width_and_the_server_renders_it(client, auth, outbox):
    _, link = await _link(client, auth, outbox)
    page = await client.get(link)
    sets = _srcsets(page.text)
    assert len(sets) == page.text.count('data-testid="doc-page"') >= 2
    assert 'sizes="(min-width: 672px) 640px, 100vw"' in page.text
    sizes = {}
    for width, url in sets[0].items():
        assert width in PAGE_WIDTHS
        image = await client.get(url)
        assert image.status_code == 200 and image.headers["content-type"] == "image/webp"
        with Image.open(io.BytesIO(image.content)) as im:
            assert im.width == width
        sizes[width] = len(image.content)
    assert set(sizes) == set(PAGE_WIDTHS)
    # a 1x phone downloads much less than the full rendering
    assert sizes[min(PAGE_WIDTHS)] < sizes[PAGE_WIDTH] / 2
    default = await client.get(f"{link}/pages/0")
    assert default.content == (await client.get(sets[0][PAGE_WIDTH])).content


async def test_each_width_is_rendered_once_per_revision(client, auth, outbox):
    envelope_id, link = await _link(client, auth, outbox)
    first = await client.get(f"{link}/pages/0?w=360")
    again = await client.get(f"{link}/pages/0?w=360")
    assert first.content == again.content
    envelope = await Envelope.objects().where(Envelope.id == uuid.UUID(envelope_id)).first()
    assert envelope is not None
    rows = await PageImage.select(PageImage.width).where(
        (PageImage.sha256 == envelope.current_sha256) & (PageImage.page == 0)
    )
    assert [r["width"] for r in rows].count(360) == 1


async def test_other_widths_are_refused_clearly(client, auth, outbox):
    _, link = await _link(client, auth, outbox)
    for bad in ("500", "99999", "abc", "-1", ""):
        answer = await client.get(f"{link}/pages/0?w={bad}", headers={"Accept-Language": "en"})
        assert answer.status_code == 400, (bad, answer.status_code)
        assert "Unsupported width" in answer.text
    chinese = await client.get(f"{link}/pages/0?w=500")
    assert chinese.status_code == 400 and "不支持的图片宽度" in chinese.text


async def test_batch_document_views_offer_the_same_widths(client, auth, outbox):
    buyer, dealer = fresh_phones()
    for other_dealer in (dealer, fresh_phones()[1]):
        created = await client.post(
            "/api/v1/envelopes", json=car_purchase_body(buyer, other_dealer), headers=auth
        )
        assert created.status_code == 201, created.text
    await wait_for_sms(outbox, buyer, count=2)
    link = outbox.link_for(buyer)
    await unlock_batch(client, outbox, link, buyer)
    listing = await client.get(f"{link}/batch")
    view_url = re.search(r'href="(/s/[^"]+/batch/view/[0-9a-f-]{36})"', listing.text)
    assert view_url, listing.text[:2000]
    view = await client.get(view_url.group(1))
    sets = _srcsets(view.text)
    assert sets and set(sets[0]) == set(PAGE_WIDTHS)
    narrow = await client.get(sets[0][360])
    with Image.open(io.BytesIO(narrow.content)) as im:
        assert im.width == 360
    refused = await client.get(f"{view_url.group(1)}/pages/0?w=500")
    assert refused.status_code == 400
