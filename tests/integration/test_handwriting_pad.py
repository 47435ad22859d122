"""The signature step over HTTP: the server checks the strokes and renders what is signed."""

from __future__ import annotations

import base64
import io
import itertools
import json
import re
import uuid

import pytest
from PIL import Image

from backend.evidence.tables import AuditEvent
from ml import handwriting
from tests.integration.journey import (
    car_purchase_body,
    confirm_code,
    handwriting_data_url,
    handwriting_strokes,
    read_all_pages,
    wait_for_sms,
)
from tests.unit.handwriting.handwriting_data import INVALID, as_json, write_characters

_numbers = itertools.count(2000)


async def at_the_pad(client, auth, outbox) -> tuple[str, str]:
    """A buyer (张三) who has read the contract and confirmed the SMS code."""
    n = next(_numbers)
    buyer, dealer = f"1580000{n:04d}", f"1580001{n:04d}"  # this file's own range
    created = await client.post(
        "/api/v1/envelopes", json=car_purchase_body(buyer, dealer), headers=auth
    )
    assert created.status_code == 201, created.text
    await wait_for_sms(outbox, buyer)
    link = outbox.link_for(buyer)
    await read_all_pages(client, link)
    await confirm_code(client, outbox, link, buyer)
    return created.json()["id"], link


def _preview_png(page: str) -> bytes:
    found = re.search(r'src="data:image/png;base64,([^"]+)"', page)
    assert found, "no signature preview on the confirm page"
    return base64.b64decode(found.group(1))


async def test_the_server_renders_the_signature_and_keeps_the_stroke_evidence(client, auth, outbox):
    envelope_id, link = await at_the_pad(client, auth, outbox)
    strokes = handwriting_strokes("张三", stylus=True)
    preview = await client.post(
        f"{link}/signature",
        # the pad's own picture is ignored: the server renders from the vectors
        data={"signature_png": handwriting_data_url(), "strokes": strokes},
    )
    assert preview.status_code == 200, preview.text
    png = _preview_png(preview.text)
    expected = handwriting.prepare_signature(strokes, "张三")
    with Image.open(io.BytesIO(png)) as got, Image.open(io.BytesIO(expected.png)) as want:
        assert got.tobytes() == want.tobytes()  # the same drawing, rendered on the server
    carried = handwriting.read_evidence(png) or {}
    assert carried["strokes_sha256"] == expected.strokes_sha256
    # ...bound to the intent session it was drawn in (it signs only within that session)
    assert len(str(carried["intent_session_sha256"])) == 64 and carried["drawn_at"]
    with Image.open(io.BytesIO(png)) as image:
        assert image.mode == "RGBA" and image.getchannel("A").getextrema()[0] == 0

    done = await client.post(f"{link}/confirm", follow_redirects=False)
    assert done.status_code == 303, done.text
    event = (
        await AuditEvent.select(AuditEvent.data)
        .where(
            (AuditEvent.envelope == uuid.UUID(envelope_id)) & (AuditEvent.kind == "signer.signed")
        )
        .first()
    )
    data = event["data"] if isinstance(event["data"], dict) else json.loads(event["data"])
    assert data["handwriting_strokes_sha256"] == expected.strokes_sha256
    features = data["handwriting_features"]
    assert features["stroke_count"] == len(expected.drawing.strokes)
    assert features["pressure_reported"] is True
    assert features["duration_ms"] > 1000 and features["speed_mean"] > 0


async def test_character_boxes_are_signed_as_one_signature(client, auth, outbox):
    _, link = await at_the_pad(client, auth, outbox)
    strokes = as_json(write_characters("张三"))
    preview = await client.post(f"{link}/signature", data={"strokes": strokes})
    assert preview.status_code == 200, preview.text
    with Image.open(io.BytesIO(_preview_png(preview.text))) as image:
        assert image.width > image.height * 1.5  # two characters side by side


def _points(n: int) -> str:
    point = '{"x":1,"y":1,"t":0}'
    return '{"width":300,"height":150,"strokes":[[' + ",".join([point] * n) + "]]}"


@pytest.mark.parametrize(
    ("strokes", "message"),
    [
        ("", "请先在框内签名"),
        ("{not json", "签名数据无法识别"),
        ('{"width":300,"height":150,"strokes":[[{"x":NaN,"y":1,"t":0}]]}', "签名数据无法识别"),
        ('{"width":300,"height":150,"strokes":[[{"x":1e999,"y":1,"t":0}]]}', "超出签名框"),
        ('{"width":300,"height":150,"strokes":[[{"x":-40,"y":1,"t":0}]]}', "超出签名框"),
        ('{"width":1e308,"height":150,"strokes":[]}', "超出签名框"),
        (_points(20_000), "签名数据过大"),  # 20 000 points in 400 kB
        ("x" * 700_000, "签名数据过大"),  # longer than any signature
        (as_json(INVALID["dot"][0]), "签名太小"),
        (as_json(INVALID["line"][0]), "一条线"),
        (as_json(INVALID["zigzag"][0]), "随意涂画"),
        (as_json(INVALID["box scribble"][0]), "随意涂画"),
    ],
    ids=[
        "missing",
        "malformed",
        "nan",
        "infinite",
        "negative",
        "huge",
        "many points",
        "too long",
        "dot",
        "line",
        "zigzag",
        "scribble",
    ],
)
async def test_bad_strokes_get_the_pad_again_with_a_clear_message(
    client, auth, outbox, strokes, message
):
    _, link = await at_the_pad(client, auth, outbox)
    answer = await client.post(f"{link}/signature", data={"strokes": strokes})
    assert answer.status_code == 400, answer.text[:300]
    assert message in answer.text
    assert 'data-testid="pad-error"' in answer.text
    assert 'data-testid="signature-pad"' in answer.text
    assert "Traceback" not in answer.text


async def test_millions_of_points_are_refused_before_they_are_read(client, auth, outbox):
    _, link = await at_the_pad(client, auth, outbox)
    answer = await client.post(f"{link}/signature", data={"strokes": _points(1_000_000)})
    # larger than any form the server reads (2 MB): refused by the framework, still clearly
    assert answer.status_code == 413
    assert "提交的内容过大" in answer.text


async def test_a_picture_without_strokes_is_not_accepted(client, auth, outbox):
    _, link = await at_the_pad(client, auth, outbox)
    answer = await client.post(f"{link}/signature", data={"signature_png": handwriting_data_url()})
    assert answer.status_code == 400 and "请先在框内签名" in answer.text
