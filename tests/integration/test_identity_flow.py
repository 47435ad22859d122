"""Real-name identity through the app: step 1, methods, results, Aliyun's protocol, limits."""

from __future__ import annotations

import logging
import uuid

import pytest

import backend.app as app_module
from backend.config import get_settings
from backend.evidence.services import events_for
from backend.identity import verification
from backend.identity.aliyun import AliyunIdentityProvider
from backend.identity.tables import IdentityCheck, IdentityClaim, VerifiedIdentity
from backend.logging_setup import JsonFormatter
from backend.notify.aliyun import AliyunRpcClient
from tests.integration.journey import read_all_pages
from tests.unit.identity.aliyun_fake import ACCESS_KEY_ID, ACCESS_KEY_SECRET, FakeAliyun
from tests.unit.identity.support import (
    CARD,
    CARD_BAD_LUHN,
    ID_BAD_CHECKSUM,
    ID_ERROR,
    ID_MATCH,
    ID_MISMATCH,
    ID_NO_RECORD,
    ID_X,
    claim,
    identity_body,
    identity_envelope,
    phones,
    relaxed,
)


@pytest.fixture
def use_settings(monkeypatch):
    """Settings the request handlers see, for this test only."""

    def apply(**changes):
        settings = relaxed(get_settings(), **changes)
        monkeypatch.setattr(app_module, "get_settings", lambda: settings)
        return settings

    apply()
    return apply


@pytest.fixture
def fake_aliyun(app):
    fake = FakeAliyun().start()
    rpc = AliyunRpcClient(ACCESS_KEY_ID, ACCESS_KEY_SECRET, "cn-hangzhou", fake.url, 0.5)
    app.state.identity_provider = AliyunIdentityProvider(rpc, retries=1, backoff=0.05)
    yield fake
    app.state.identity_provider = None
    fake.stop()


async def send_code(client, link, method="phone3", **form):
    answer = await client.post(f"{link}/identity/{method}/code", data=form)
    assert answer.status_code == 200, answer.text
    assert 'data-testid="code-sent"' in answer.text


async def phone3(client, outbox, link, buyer, code=None):
    await send_code(client, link)
    return await client.post(
        f"{link}/identity/phone3",
        data={"code": code or outbox.code_for(buyer)},
        follow_redirects=False,
    )


async def bank4(client, outbox, link, card=CARD, mobile=None):
    mobile = mobile or phones()[0]
    await send_code(client, link, "bank4", card=card, mobile=mobile)
    return await client.post(
        f"{link}/identity/bank4",
        data={"card": card, "mobile": mobile, "code": outbox.code_for(mobile)},
        follow_redirects=False,
    )


async def verified(client, auth, envelope_id) -> bool:
    body = (await client.get(f"/api/v1/envelopes/{envelope_id}", headers=auth)).json()
    return body["signers"][0]["identity_verified"]


def outcome_of(page) -> str:
    assert page.status_code == 200, page.text
    assert 'data-testid="identity-result"' in page.text
    return page.text.split('data-outcome="', 1)[1].split('"', 1)[0]


# ------------------------------------------------------------------ step 1 and 2


async def test_step_one_locks_the_name_and_checks_the_id_number(client, auth, outbox, use_settings):
    _, link, _ = await identity_envelope(client, auth, outbox)
    read = await client.get(link)
    assert 'data-testid="identity-start"' in read.text
    assert 'data-testid="otp-send"' not in read.text
    page = await client.get(f"{link}/identity")
    assert page.status_code == 200
    for testid in ("id-name", "id-number", "verify-submit"):
        assert f'data-testid="{testid}"' in page.text
    assert 'value="张三" readonly' in page.text
    assert "仅支持人工审核" in page.text

    bad = await claim(client, link, ID_BAD_CHECKSUM)
    assert bad.status_code == 400 and "校验位不正确" in bad.text
    born_later = await claim(client, link, "110105209901010010")
    assert born_later.status_code == 400 and "出生日期" in born_later.text
    other_name = await client.post(
        f"{link}/identity", data={"name": "李四", "id_type": "id_card", "id_number": ID_MATCH}
    )
    assert other_name.status_code == 400 and "须与发起方填写的签署人姓名一致" in other_name.text

    ok = await claim(client, link, " 110105 19900307 0017 ")
    assert ok.status_code == 303 and ok.headers["location"] == f"{link}/identity/methods"
    methods = await client.get(f"{link}/identity/methods")
    for m in ("method-phone3", "method-bank4", "method-face", "method-manual"):
        assert f'data-testid="{m}"' in methods.text
    assert f'href="{link}/face"' in methods.text
    assert "110***********0017" in methods.text and ID_MATCH not in methods.text


async def test_bank4_level_does_not_offer_phone3(client, auth, outbox, use_settings):
    _, link, _ = await identity_envelope(client, auth, outbox, level="bank4")
    await claim(client, link)
    methods = await client.get(f"{link}/identity/methods")
    assert 'data-testid="method-bank4"' in methods.text
    assert 'data-testid="method-phone3"' not in methods.text
    refused = await client.get(f"{link}/identity/phone3", follow_redirects=False)
    assert refused.status_code in (302, 303)


async def test_passports_and_permits_go_to_manual_review(client, auth, outbox, use_settings):
    _, link, _ = await identity_envelope(client, auth, outbox)
    answer = await claim(client, link, "E12345678", id_type="passport")
    assert answer.status_code == 303 and answer.headers["location"] == f"{link}/identity/manual"
    methods = await client.get(f"{link}/identity/methods")
    assert 'data-testid="method-manual"' in methods.text
    assert 'data-testid="method-phone3"' not in methods.text


async def test_the_id_number_must_be_the_one_in_the_contract(client, auth, outbox, use_settings):
    envelope_id, link, _ = await identity_envelope(client, auth, outbox, contract_id=ID_X)
    someone_else = await claim(client, link, ID_MATCH)
    assert someone_else.status_code == 400
    assert "与合同中登记的签署人身份证号不一致" in someone_else.text
    assert ID_X not in someone_else.text and ID_X[-4:] not in someone_else.text
    passport = await claim(client, link, "E12345678", id_type="passport")
    assert passport.status_code == 400 and "请选择“居民身份证”" in passport.text
    stored = await IdentityClaim.count().where(
        IdentityClaim.signer.envelope == uuid.UUID(envelope_id)
    )
    assert stored == 0

    same = await claim(client, link, ID_X.lower())  # typed with a small x
    assert same.status_code == 303 and same.headers["location"] == f"{link}/identity/methods"


async def test_a_paid_method_page_that_does_not_exist_is_404(client, auth, outbox, use_settings):
    _, link, _ = await identity_envelope(client, auth, outbox)
    await claim(client, link)
    assert (await client.get(f"{link}/identity/telepathy")).status_code == 404
    assert (await client.post(f"{link}/identity/face/code")).status_code == 404


# ------------------------------------------------------------------ phone 3-factor (sandbox)


async def test_phone3_passes_and_the_read_page_moves_on(client, auth, outbox, use_settings):
    envelope_id, link, buyer = await identity_envelope(client, auth, outbox)
    await claim(client, link)
    page = await client.get(f"{link}/identity/phone3")
    assert "157****" in page.text and buyer not in page.text

    await send_code(client, link)
    right = outbox.code_for(buyer)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    again = await client.post(f"{link}/identity/phone3", data={"code": wrong})
    assert again.status_code == 400 and "验证码错误，还可尝试 4 次" in again.text
    done = await client.post(
        f"{link}/identity/phone3", data={"code": right}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == link
    assert await verified(client, auth, envelope_id)

    read = await client.get(link)
    assert 'data-testid="identity-start"' not in read.text
    await read_all_pages(client, link)
    assert 'data-testid="otp-send"' in (await client.get(link)).text
    # The identity pages are done with: they send the signer back.
    back = await client.get(f"{link}/identity", follow_redirects=False)
    assert back.status_code in (302, 303) and back.headers["location"] == link

    events = await events_for(uuid.UUID(envelope_id))
    checked = [e for e in events if e["kind"] == "identity.checked"]
    assert checked[-1]["data"]["outcome"] == "match"
    assert checked[-1]["data"]["provider"] == "sandbox"
    assert checked[-1]["data"]["provider_request_id"].startswith("sandbox-")
    ok = [e for e in events if e["kind"] == "signer.verified"][-1]["data"]
    assert ok["method"] == "phone3" and ok["provider_request_id"]


@pytest.mark.parametrize(
    ("id_number", "outcome", "words"),
    [
        (ID_MISMATCH, "mismatch", "不一致"),
        (ID_NO_RECORD, "no_record", "未查到"),
        (ID_ERROR, "error", "繁忙"),
    ],
)
async def test_phone3_failures_offer_retry_and_other_methods(
    client, auth, outbox, use_settings, id_number, outcome, words
):
    envelope_id, link, buyer = await identity_envelope(client, auth, outbox)
    await claim(client, link, id_number)
    page = await phone3(client, outbox, link, buyer)
    assert outcome_of(page) == outcome
    assert words in page.text
    for testid in ("identity-retry", "method-bank4", "method-face", "method-manual"):
        assert f'data-testid="{testid}"' in page.text
    assert not await verified(client, auth, envelope_id)
    read = await client.get(link)
    assert 'data-testid="identity-start"' in read.text


# ------------------------------------------------------------------ bank-card 4-factor


async def test_bank4_checks_the_card_before_any_paid_call(client, auth, outbox, use_settings):
    envelope_id, link, _ = await identity_envelope(client, auth, outbox, level="bank4")
    await claim(client, link)
    page = await client.get(f"{link}/identity/bank4")
    for testid in ("bank-card", "bank-mobile", "otp-send", "verify-submit"):
        assert f'data-testid="{testid}"' in page.text
    mobile = phones()[0]
    bad = await client.post(
        f"{link}/identity/bank4/code", data={"card": CARD_BAD_LUHN, "mobile": mobile}
    )
    assert bad.status_code == 400 and "校验未通过" in bad.text
    assert outbox.messages(mobile) == []
    bad_mobile = await client.post(
        f"{link}/identity/bank4/code", data={"card": CARD, "mobile": "2345"}
    )
    assert bad_mobile.status_code == 400 and "11 位" in bad_mobile.text
    checks = await IdentityCheck.count().where(IdentityCheck.envelope == uuid.UUID(envelope_id))
    assert checks == 0

    done = await bank4(client, outbox, link, mobile=mobile)
    assert done.status_code == 303 and done.headers["location"] == link
    assert await verified(client, auth, envelope_id)
    row = (
        await IdentityCheck.objects()
        .where(IdentityCheck.envelope == uuid.UUID(envelope_id))
        .first()
    )
    assert row.card_masked == "622************0128"
    assert CARD not in repr(row.to_dict())


# ------------------------------------------------------------------ the real Aliyun SDK path


async def test_aliyun_phone3_match_runs_the_real_protocol(
    client, auth, outbox, use_settings, fake_aliyun
):
    envelope_id, link, buyer = await identity_envelope(client, auth, outbox)
    await claim(client, link)
    done = await phone3(client, outbox, link, buyer)
    assert done.status_code == 303
    assert await verified(client, auth, envelope_id)
    call = fake_aliyun.calls("Mobile3MetaDetailVerify")[-1]
    assert call["Mobile"] == buyer and call["IdentifyNum"] == ID_MATCH
    assert call["UserName"] == "张三" and call["ParamType"] == "normal"
    assert fake_aliyun.rejections == []
    event = [e for e in await events_for(uuid.UUID(envelope_id)) if e["kind"] == "signer.verified"]
    assert event[-1]["data"]["provider"] == "aliyun"
    assert len(event[-1]["data"]["provider_request_id"]) == 36


@pytest.mark.parametrize(
    ("scenario", "outcome", "words", "calls"),
    [
        ("mismatch", "mismatch", "不一致", 1),
        ("no_record", "no_record", "暂时无法验证", 1),
        ("card_lost", "mismatch", "已挂失", 1),
        ("card_number_wrong", "no_record", "银行卡号有误", 1),
        ("throttle", "error", "繁忙", 2),
        ("internal", "error", "繁忙", 2),
        ("business_error", "error", "繁忙", 1),
        ("slow", "error", "繁忙", 2),
    ],
)
async def test_aliyun_bank4_outcomes(
    client, auth, outbox, use_settings, fake_aliyun, scenario, outcome, words, calls
):
    envelope_id, link, _ = await identity_envelope(client, auth, outbox, level="bank4")
    await claim(client, link, ID_MATCH)
    fake_aliyun.scenarios[ID_MATCH] = scenario
    page = await bank4(client, outbox, link)
    assert outcome_of(page) == outcome
    assert words in page.text
    assert len(fake_aliyun.calls("BankMetaVerify")) == calls
    assert fake_aliyun.calls("BankMetaVerify")[0]["ProductType"] == "BANK_CARD_4_META"
    assert not await verified(client, auth, envelope_id)
    row = (
        await IdentityCheck.objects()
        .where(IdentityCheck.envelope == uuid.UUID(envelope_id))
        .first()
    )
    assert row.outcome == outcome


@pytest.mark.parametrize(
    ("scenario", "words"),
    [
        ("mismatch", "手机号、姓名与身份证号不一致"),
        ("mismatch_id", "不是用此身份证号实名登记的"),
        ("mismatch_name", "登记的姓名与您的姓名不一致"),
    ],
)
async def test_aliyun_phone3_sub_codes_say_which_factor_differs(
    client, auth, outbox, use_settings, fake_aliyun, scenario, words
):
    _, link, buyer = await identity_envelope(client, auth, outbox)
    await claim(client, link)
    fake_aliyun.scenarios[ID_MATCH] = scenario
    page = await phone3(client, outbox, link, buyer)
    assert outcome_of(page) == "mismatch"
    assert words in page.text


async def test_aliyun_throttled_once_is_retried_and_passes(
    client, auth, outbox, use_settings, fake_aliyun
):
    envelope_id, link, buyer = await identity_envelope(client, auth, outbox)
    await claim(client, link)
    fake_aliyun.scenarios[ID_MATCH] = "throttle_once"
    done = await phone3(client, outbox, link, buyer)
    assert done.status_code == 303
    assert len(fake_aliyun.calls("Mobile3MetaDetailVerify")) == 2
    assert await verified(client, auth, envelope_id)


async def test_wrong_aliyun_key_is_never_a_pass(
    client, auth, outbox, use_settings, fake_aliyun, app
):
    rpc = AliyunRpcClient("LTAIunknown", "nope", "cn-hangzhou", fake_aliyun.url, 0.5)
    app.state.identity_provider = AliyunIdentityProvider(rpc, retries=2, backoff=0.05)
    envelope_id, link, buyer = await identity_envelope(client, auth, outbox)
    await claim(client, link)
    page = await phone3(client, outbox, link, buyer)
    assert outcome_of(page) == "error"
    assert fake_aliyun.rejections == ["InvalidAccessKeyId.NotFound"]  # not retried
    assert not await verified(client, auth, envelope_id)


# ------------------------------------------------------------------ reuse and limits


async def test_a_recent_verification_is_reused_for_the_same_person(
    client, auth, outbox, use_settings, fake_aliyun
):
    first_id, first, buyer = await identity_envelope(client, auth, outbox)
    await claim(client, first)
    assert (await phone3(client, outbox, first, buyer)).status_code == 303
    paid = len(fake_aliyun.calls("Mobile3MetaDetailVerify"))

    # A second envelope to the same phone: no new paid call.
    from tests.integration.journey import wait_for_sms

    body = identity_body(buyer, phones()[1])
    created = await client.post("/api/v1/envelopes", json=body, headers=auth)
    await wait_for_sms(outbox, buyer, count=2)
    second = outbox.link_for(buyer)
    reused = await claim(client, second)
    assert reused.status_code == 303 and reused.headers["location"] == second
    assert len(fake_aliyun.calls("Mobile3MetaDetailVerify")) == paid
    assert await verified(client, auth, created.json()["id"])
    event = [
        e
        for e in await events_for(uuid.UUID(created.json()["id"]))
        if e["kind"] == "signer.verified"
    ][-1]
    assert event["data"]["reused"] is True and event["data"]["provider"] == "aliyun"

    # With reuse off, the same person pays again.
    use_settings(identity_reuse_days=0)
    body = identity_body(buyer, phones()[1])
    third = await client.post("/api/v1/envelopes", json=body, headers=auth)
    await wait_for_sms(outbox, buyer, count=3)
    answer = await claim(client, outbox.link_for(buyer))
    assert answer.headers["location"].endswith("/identity/methods")
    assert not await verified(client, auth, third.json()["id"])
    assert first_id != third.json()["id"]


async def test_bank4_is_reused_only_where_the_envelope_phone_is_the_verified_mobile(
    client, auth, outbox, use_settings
):
    from tests.integration.journey import wait_for_sms

    # Verified with the card's reserved mobile, which is not the envelope's phone.
    _, link, buyer = await identity_envelope(client, auth, outbox, level="bank4")
    await claim(client, link, ID_X)
    reserved = phones()[0]
    assert (await bank4(client, outbox, link, mobile=reserved)).status_code == 303

    async def claim_again(phone: str) -> str:
        before = len([m for m in outbox.messages(phone) if "/s/" in m["text"]])
        created = await client.post(
            "/api/v1/envelopes", json=identity_body(phone, phones()[1], "bank4"), headers=auth
        )
        assert created.status_code == 201
        await wait_for_sms(outbox, phone, count=before + 1)
        answer = await claim(client, outbox.link_for(phone), ID_X)
        return answer.headers["location"]

    assert (await claim_again(buyer)).endswith("/identity/methods")  # pays again
    assert not (await claim_again(reserved)).endswith("/identity/methods")  # reused


async def test_checks_per_envelope_are_limited(client, auth, outbox, use_settings):
    use_settings(identity_checks_per_envelope=2)
    envelope_id, link, buyer = await identity_envelope(client, auth, outbox)
    await claim(client, link, ID_MISMATCH)
    for _ in range(2):
        assert outcome_of(await phone3(client, outbox, link, buyer)) == "mismatch"
    limited = await phone3(client, outbox, link, buyer)
    assert outcome_of(limited) == "limited"
    assert "次数过多" in limited.text and 'data-testid="method-manual"' in limited.text
    paid = await IdentityCheck.count().where(IdentityCheck.envelope == uuid.UUID(envelope_id))
    assert paid == 2
    kinds = [e["kind"] for e in await events_for(uuid.UUID(envelope_id))]
    assert "identity.rate_limited" in kinds


async def test_checks_per_phone_are_limited_across_envelopes(client, auth, outbox, use_settings):
    use_settings(identity_checks_per_phone=1)
    _, link, buyer = await identity_envelope(client, auth, outbox)
    await claim(client, link, ID_MISMATCH)
    assert outcome_of(await phone3(client, outbox, link, buyer)) == "mismatch"
    # The same mobile again as a bank card's reserved one, on another envelope: refused.
    other_id, other, _ = await identity_envelope(client, auth, outbox, level="bank4")
    await claim(client, other, ID_MISMATCH)
    limited = await bank4(client, outbox, other, mobile=buyer)
    assert outcome_of(limited) == "limited"
    paid = await IdentityCheck.count().where(IdentityCheck.envelope == uuid.UUID(other_id))
    assert paid == 0


async def test_checks_per_ip_are_limited(client, auth, outbox, use_settings):
    envelope_id, link, buyer = await identity_envelope(client, auth, outbox)
    await claim(client, link)
    await send_code(client, link)
    # The test client's address is shared by every test: a limit of 0 is "over the limit".
    use_settings(identity_checks_per_ip=0)
    limited = await client.post(f"{link}/identity/phone3", data={"code": outbox.code_for(buyer)})
    assert outcome_of(limited) == "limited"
    refused = await client.post(f"{link}/identity/phone3/code")
    assert refused.status_code == 429 and "过于频繁" in refused.text
    assert not await verified(client, auth, envelope_id)
    paid = await IdentityCheck.count().where(IdentityCheck.envelope == uuid.UUID(envelope_id))
    assert paid == 0


async def test_codes_per_phone_are_limited(client, auth, outbox, use_settings):
    use_settings(identity_codes_per_phone=2)
    _, link, buyer = await identity_envelope(client, auth, outbox)
    await claim(client, link)
    for _ in range(2):
        await send_code(client, link)
    third = await client.post(f"{link}/identity/phone3/code", headers={"HX-Request": "true"})
    assert "过于频繁" in third.text
    assert len([m for m in outbox.messages(buyer) if "实名认证" in m["text"]]) == 2


async def test_codes_per_envelope_are_limited_whatever_the_mobile(
    client, auth, outbox, use_settings, monkeypatch
):
    # The bank-card form takes any mobile: one link must not text a list of numbers.
    monkeypatch.setattr(verification, "CODES_PER_ENVELOPE", 3)
    _, link, _ = await identity_envelope(client, auth, outbox, level="bank4")
    await claim(client, link)
    mobiles = [phones()[0] for _ in range(4)]
    for mobile in mobiles[:3]:
        await send_code(client, link, "bank4", card=CARD, mobile=mobile)
    refused = await client.post(
        f"{link}/identity/bank4/code", data={"card": CARD, "mobile": mobiles[3]}
    )
    assert refused.status_code == 429 and "过于频繁" in refused.text
    assert outbox.messages(mobiles[3]) == []


# ------------------------------------------------------------------ protection


async def test_no_raw_id_card_or_code_in_logs_or_storage(
    client, auth, outbox, use_settings, fake_aliyun, caplog
):
    caplog.set_level(logging.DEBUG)
    envelope_id, link, buyer = await identity_envelope(client, auth, outbox, level="phone3")
    await claim(client, link, ID_MISMATCH)
    fake_aliyun.scenarios[ID_MISMATCH] = "mismatch"
    await phone3(client, outbox, link, buyer)
    mobile = phones()[0]
    page = await bank4(client, outbox, link, mobile=mobile)
    assert outcome_of(page) == "mismatch"
    fake_aliyun.scenarios[ID_MISMATCH] = "throttle"
    await bank4(client, outbox, link, mobile=mobile)
    codes = [m["text"][-30:] for m in outbox.messages(buyer) + outbox.messages(mobile)]
    sent_codes = [c.split("验证码为")[1][:6] for c in codes if "验证码为" in c]
    assert sent_codes

    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records]
    raw = [r.getMessage() + repr(getattr(r, "fields", {})) for r in caplog.records]
    assert lines, "the flow logged nothing: the test would prove nothing"
    for secret in (ID_MISMATCH, CARD, *sent_codes):
        assert not any(secret in line for line in lines), secret
        assert not any(secret in line for line in raw), secret

    claim_row = (
        await IdentityClaim.objects()
        .where(IdentityClaim.signer.envelope == uuid.UUID(envelope_id))
        .first()
    )
    assert ID_MISMATCH.encode() not in claim_row.id_sealed
    for row in await IdentityCheck.select().where(IdentityCheck.envelope == uuid.UUID(envelope_id)):
        assert CARD not in repr(row) and ID_MISMATCH not in repr(row)
    for event in await events_for(uuid.UUID(envelope_id)):
        assert CARD not in repr(event) and ID_MISMATCH not in repr(event)
    assert await VerifiedIdentity.count().where(VerifiedIdentity.id_hash == ID_MISMATCH) == 0
