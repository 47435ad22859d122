"""Bad input never gets a 500: each case answers with a clear, actionable message."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

import pytest

from backend.database import utcnow
from backend.envelopes.services import signer_token
from backend.envelopes.tables import Envelope, Signer
from tests.integration import journey
from tests.integration.journey import (
    car_purchase_body,
    confirm_code,
    handwriting_data_url,
    read_all_pages,
    wait_for_sms,
)

_numbers = itertools.count(1000)


def phones() -> tuple[str, str]:
    n = next(_numbers)
    return f"1370000{n:04d}", f"1360000{n:04d}"


async def new_envelope(client, auth, outbox) -> tuple[str, str, str, str]:
    return await journey.new_envelope(client, auth, outbox, phones)


async def link_of(envelope_id: str, role: str) -> str:
    s = (
        await Signer.objects()
        .where((Signer.envelope == uuid.UUID(envelope_id)) & (Signer.role == role))
        .first()
    )
    return f"/s/{signer_token(s.id, s.link_nonce)}"


# ------------------------------------------------------------------ links


@pytest.mark.parametrize(
    "path",
    ["/s/AAAAAAAAAAAAAAAAAAAAAA", "/s/x", "/s/%3Cscript%3E", "/s/AAAAAAAAAAAAAAAAAAAAAA/sign"],
)
async def test_unknown_or_forged_link_shows_a_chinese_invalid_page(client, path):
    page = await client.get(path)
    assert page.status_code == 404
    assert "链接无效或已过期" in page.text
    assert "Traceback" not in page.text and "AAAAAAAA" not in page.text


async def test_expired_link_is_invalid(client, auth, outbox):
    envelope_id, link, _, _ = await new_envelope(client, auth, outbox)
    assert (await client.get(link)).status_code == 200
    await Envelope.update({Envelope.expires_at: utcnow() - timedelta(minutes=1)}).where(
        Envelope.id == uuid.UUID(envelope_id)
    )
    page = await client.get(link)
    assert page.status_code == 404 and "链接无效或已过期" in page.text
    status = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()
    assert status["status"] == "expired"


# ------------------------------------------------------------------ the code


async def test_wrong_codes_count_down_then_lock(client, auth, outbox):
    _, link, buyer, _ = await new_envelope(client, auth, outbox)
    await read_all_pages(client, link)
    await client.post(f"{link}/otp", headers={"HX-Request": "true"})
    right = outbox.code_for(buyer)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        answer = await client.post(
            f"{link}/otp/verify", data={"code": wrong}, headers={"HX-Request": "true"}
        )
        assert answer.status_code == 200
        assert f"验证码错误，还可尝试 {left} 次" in answer.text
    locked = await client.post(
        f"{link}/otp/verify", data={"code": wrong}, headers={"HX-Request": "true"}
    )
    assert "错误次数过多" in locked.text
    # Even the right code no longer works: a new one must be requested.
    after = await client.post(f"{link}/otp/verify", data={"code": right}, follow_redirects=False)
    assert after.status_code == 400 and "错误次数过多" in after.text
    assert "sl_intent" not in after.headers.get("set-cookie", "")


async def test_code_cannot_be_resent_within_a_minute(client, auth, outbox):
    _, link, buyer, _ = await new_envelope(client, auth, outbox)
    await read_all_pages(client, link)
    await client.post(f"{link}/otp", headers={"HX-Request": "true"})
    again = await client.post(f"{link}/otp", headers={"HX-Request": "true"})
    assert again.status_code == 200
    assert "秒后再重新获取" in again.text
    assert len([m for m in outbox.messages(buyer) if "验证码" in m["text"]]) == 1


async def test_code_is_only_sent_after_the_last_page_was_read(client, auth, outbox):
    _, link, buyer, _ = await new_envelope(client, auth, outbox)
    page = await client.get(link)
    assert 'data-testid="otp-send"' in page.text and "disabled" in page.text
    refused = await client.post(f"{link}/otp")
    assert refused.status_code == 400 and "请先完整阅读" in refused.text
    assert not [m for m in outbox.messages(buyer) if "验证码" in m["text"]]


async def test_signing_without_a_confirmed_code_is_refused(client, auth, outbox):
    _, link, _, _ = await new_envelope(client, auth, outbox)
    await read_all_pages(client, link)
    pad = await client.get(f"{link}/sign", follow_redirects=False)
    assert pad.status_code in (302, 303) and pad.headers["location"] == link
    refused = await client.post(f"{link}/confirm")
    assert refused.status_code == 403 and "验证" in refused.text
    handwriting = await client.post(
        f"{link}/signature", data={"signature_png": handwriting_data_url()}
    )
    assert handwriting.status_code == 403


async def test_empty_or_garbage_handwriting_is_refused_clearly(client, auth, outbox):
    _, link, buyer, _ = await new_envelope(client, auth, outbox)
    await read_all_pages(client, link)
    await confirm_code(client, outbox, link, buyer)
    for value in [
        "",
        "data:image/png;base64,!!!",
        "data:image/png;base64,aGVsbG8=",
        handwriting_data_url(0),
    ]:
        answer = await client.post(f"{link}/signature", data={"signature_png": value})
        assert answer.status_code == 400, value
        assert "签名" in answer.text and 'data-testid="signature-pad"' in answer.text


# ------------------------------------------------------------------ turns


async def test_signer_out_of_turn_is_refused(client, auth, outbox):
    envelope_id, _, _, dealer = await new_envelope(client, auth, outbox)
    dealer_link = await link_of(envelope_id, "dealer")
    page = await client.get(dealer_link)
    assert page.status_code == 200
    assert 'data-testid="not-your-turn"' in page.text and "张三" in page.text
    assert 'data-testid="otp-send"' not in page.text
    refused = await client.post(f"{dealer_link}/otp")
    assert refused.status_code == 409 and "还未轮到您签署" in refused.text
    assert (await client.post(f"{dealer_link}/confirm")).status_code == 409
    assert outbox.messages(dealer) == []


# ------------------------------------------------------------------ the API


async def test_missing_or_wrong_api_key_is_401(client):
    body = car_purchase_body()
    for headers in ({}, {"Authorization": "Bearer sl_wrong"}, {"Authorization": "Basic abc"}):
        answer = await client.post("/api/v1/envelopes", json=body, headers=headers)
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "unauthorized"
        assert "API 密钥" in answer.json()["error"]["message"]
    assert (await client.get("/api/v1/templates")).status_code == 401


async def test_malformed_json_is_400_with_a_message(client, auth):
    for raw in (b"{not json", b"[]", b'{"template": 5}', b""):
        answer = await client.post(
            "/api/v1/envelopes",
            content=raw,
            headers={**auth, "Content-Type": "application/json"},
        )
        assert answer.status_code == 400, raw
        error = answer.json()["error"]
        assert error["code"] == "validation_failed" and error["message"] and error["fields"]


async def test_unknown_template_is_400(client, auth):
    body = {**car_purchase_body(), "template": "no-such-template"}
    answer = await client.post("/api/v1/envelopes", json=body, headers=auth)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "unknown_template" and "car-purchase" in error["message"]


async def test_invalid_fields_are_all_reported(client, auth):
    body = car_purchase_body(buyer_phone="12345")
    body["signers"][1]["phone"] = "1390013900"
    body["data"]["vehicle"]["vin"] = "LGXCE6CD3R01234"
    answer = await client.post("/api/v1/envelopes", json=body, headers=auth)
    assert answer.status_code == 400
    paths = {f["path"] for f in answer.json()["error"]["fields"]}
    assert {"signers[0].phone", "signers[1].phone", "data.vehicle.vin"} <= paths
    assert all(f["message"] and f["message_en"] for f in answer.json()["error"]["fields"])


async def test_roles_must_match_the_template(client, auth):
    body = car_purchase_body()
    body["signers"] = [body["signers"][0], {**body["signers"][0], "role": "guarantor"}]
    answer = await client.post("/api/v1/envelopes", json=body, headers=auth)
    assert answer.status_code == 400
    paths = {f["path"] for f in answer.json()["error"]["fields"]}
    assert {"signers[1].role", "signers"} <= paths


async def test_unknown_envelope_is_404_not_500(client, auth):
    answer = await client.get(f"/api/v1/envelopes/{uuid.uuid4()}", headers=auth)
    assert answer.status_code == 404
    assert (await client.get("/api/v1/envelopes/not-a-uuid", headers=auth)).status_code in (
        400,
        404,
    )


async def test_a_role_that_requires_identity_cannot_skip_it(client, auth, outbox):
    buyer, dealer = phones()
    body = car_purchase_body(buyer, dealer)
    body["signers"][0]["identity"] = "phone3"
    created = await client.post("/api/v1/envelopes", json=body, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["signers"][0]["identity"] == "phone3"
    assert created.json()["signers"][0]["identity_verified"] is False
    await wait_for_sms(outbox, buyer)
    link = outbox.link_for(buyer)
    page = await client.get(link)
    assert 'data-testid="identity-start"' in page.text
    assert 'data-testid="otp-send"' not in page.text
    await read_all_pages(client, link)
    refused = await client.post(f"{link}/otp")
    assert refused.status_code == 403 and "实名认证" in refused.text


async def test_unknown_identity_level_is_400(client, auth):
    body = car_purchase_body()
    body["signers"][0]["identity"] = "telepathy"
    answer = await client.post("/api/v1/envelopes", json=body, headers=auth)
    assert answer.status_code == 400
    assert "signers[0].identity" in {f["path"] for f in answer.json()["error"]["fields"]}


async def test_a_face_intent_role_confirms_by_face_not_by_sms_code(client, auth, outbox):
    buyer, dealer = phones()
    body = car_purchase_body(buyer, dealer)
    body["signers"][0]["intent"] = "face"
    created = await client.post("/api/v1/envelopes", json=body, headers=auth)
    assert created.status_code == 201, created.text
    await wait_for_sms(outbox, buyer)
    page = await client.get(outbox.link_for(buyer))
    assert 'data-testid="face-intent-start"' in page.text
    assert 'data-testid="otp-send"' not in page.text


# ------------------------------------------------------------------ NUL characters
# PostgreSQL text cannot hold U+0000 (SQLite stores it): such a request used to be a 503 on
# PostgreSQL. Now both databases refuse it with a 400 naming where the character was.


async def test_a_nul_in_a_json_field_is_400_naming_the_field(client, auth):
    body = car_purchase_body(*phones())  # a real envelope at the end: its own numbers
    body["data"]["buyer"]["address"] = "北京市\u0000朝阳区"
    body["signers"][1]["name"] = "李\u0000"
    answer = await client.post("/api/v1/envelopes", json=body, headers=auth)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "validation_failed"
    fields = {f["path"]: f for f in error["fields"]}
    assert set(fields) == {"data.buyer.address", "signers[1].name"}
    assert "U+0000" in fields["signers[1].name"]["message"]
    assert "U+0000" in fields["signers[1].name"]["message_en"]
    # the same request with an idempotency key is refused the same way, nothing remembered
    keyed = {**auth, "Idempotency-Key": f"nul-{uuid.uuid4()}"}
    assert (await client.post("/api/v1/envelopes", json=body, headers=keyed)).status_code == 400
    body["data"]["buyer"]["address"] = "北京市朝阳区"
    body["signers"][1]["name"] = "李四"
    assert (await client.post("/api/v1/envelopes", json=body, headers=keyed)).status_code == 201

    # a field no check reads before the database (it was a 503 on PostgreSQL)
    key = await client.post("/api/v1/keys", json={"label": "ERP\u0000"}, headers=auth)
    assert key.status_code == 400
    assert [f["path"] for f in key.json()["error"]["fields"]] == ["label"]


async def test_a_nul_in_a_json_name_is_named_by_its_place_never_echoed(client, auth):
    body = car_purchase_body(*phones())
    body["data"]["buyer"]["note\u0000"] = "x"
    answer = await client.post("/api/v1/envelopes", json=body, headers=auth)
    assert answer.status_code == 400
    assert [f["path"] for f in answer.json()["error"]["fields"]] == ["data.buyer"]
    assert "\x00" not in answer.text and "\\u0000" not in answer.text


async def test_a_nul_in_a_link_or_a_query_is_400_not_503(client, auth, outbox):
    _, link, _, _ = await new_envelope(client, auth, outbox)
    page = await client.get(link + "%00")
    assert page.status_code == 400
    assert "U+0000" in page.text and "<html" in page.text.lower()
    assert (await client.get(link)).status_code == 200  # the link itself still works

    listing = await client.get("/api/v1/envelopes", params={"status": "sent\x00"}, headers=auth)
    assert listing.status_code == 400
    assert [f["path"] for f in listing.json()["error"]["fields"]] == ["status"]
    dealer_search = await client.get("/app", params={"q": "张\x00"})
    assert dealer_search.status_code == 400


async def test_a_nul_in_a_form_field_is_400(client):
    answer = await client.post("/app/login/code", data={"phone": "138\x0000000000"})
    assert answer.status_code == 400
    assert "phone" in answer.text and "U+0000" in answer.text
    # a string that merely spells the escape is text like any other
    spelled = await client.post("/app/login/code", data={"phone": "\\u0000"})
    assert spelled.status_code == 400 and "U+0000" not in spelled.text
