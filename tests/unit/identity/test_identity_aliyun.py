"""The Aliyun providers through the real SDK against a local server speaking Aliyun RPC."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from backend.config import get_settings
from backend.identity.aliyun import AliyunIdentityProvider
from backend.identity.providers import ProviderError
from backend.notify.aliyun import AliyunRpcClient, AliyunSmsProvider, template_for
from backend.notify.sms import SmsError
from tests.unit.identity.aliyun_fake import (
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    FakeAliyun,
    sign,
    string_to_sign,
)
from tests.unit.identity.support import CARD, ID_MATCH


@pytest.fixture
def fake():
    server = FakeAliyun().start()
    yield server
    server.stop()


def provider(fake, secret=ACCESS_KEY_SECRET, key=ACCESS_KEY_ID, timeout=1.0, retries=1):
    rpc = AliyunRpcClient(key, secret, "cn-hangzhou", fake.url, timeout)
    return AliyunIdentityProvider(rpc, retries=retries, backoff=0.01)


def signed_request(params: dict[str, str], *, nonce: str, at: datetime) -> dict[str, str]:
    common = {
        "Format": "JSON",
        "Version": "2019-03-07",
        "AccessKeyId": ACCESS_KEY_ID,
        "SignatureMethod": "HMAC-SHA1",
        "Timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce,
        **params,
    }
    common["Signature"] = sign(ACCESS_KEY_SECRET, string_to_sign("GET", common))
    return common


def get(fake, query: dict[str, str]) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"{fake.url}/?{urlencode(query)}", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


MOBILE3 = {
    "Action": "Mobile3MetaDetailVerify",
    "ParamType": "normal",
    "UserName": "张三",
    "IdentifyNum": ID_MATCH,
    "Mobile": "13800138000",
}


# ------------------------------------------------------------------ the fake speaks the protocol


def test_fake_verifies_signatures_nonces_and_timestamps(fake):
    now = datetime.now(UTC)
    query = signed_request(MOBILE3, nonce="n-1", at=now)
    status, body = get(fake, query)
    assert status == 200 and body["ResultObject"]["BizCode"] == "1"
    # The same request again: a replay, refused by its nonce.
    status, body = get(fake, query)
    assert status == 400 and body["Code"] == "SignatureNonceUsed"
    # A tampered parameter no longer matches the signature.
    status, body = get(
        fake, {**signed_request(MOBILE3, nonce="n-2", at=now), "Mobile": "13900139000"}
    )
    assert status == 400 and body["Code"] == "SignatureDoesNotMatch"
    stale = signed_request(MOBILE3, nonce="n-3", at=now - timedelta(minutes=20))
    status, body = get(fake, stale)
    assert status == 400 and body["Code"] == "InvalidTimeStamp.Expired"


async def test_sdk_requests_pass_the_fake_and_keep_personal_data_out_of_the_url(fake):
    result = await provider(fake).verify_phone3("欧阳·娜娜", ID_MATCH, "13800138000")
    assert result.outcome == "match" and result.sub_code == "101"
    assert result.detail == {"isp": "CMCC"} and len(result.request_id) == 36
    assert fake.rejections == []
    call = fake.calls("Mobile3MetaDetailVerify")[0]
    assert call["UserName"] == "欧阳·娜娜" and call["Version"] == "2019-03-07"
    assert call["SignatureMethod"] == "HMAC-SHA1" and call["RegionId"] == "cn-hangzhou"


async def test_each_sdk_call_uses_a_fresh_nonce(fake):
    p = provider(fake)
    for _ in range(3):
        await p.verify_phone3("张三", ID_MATCH, "13800138000")
    nonces = {c["SignatureNonce"] for c in fake.calls("Mobile3MetaDetailVerify")}
    assert len(nonces) == 3 and fake.rejections == []


# ------------------------------------------------------------------ answers to results


@pytest.mark.parametrize(
    ("scenario", "outcome", "sub_code"),
    [("match", "match", "101"), ("mismatch", "mismatch", "201"), ("no_record", "no_record", "301")],
)
async def test_biz_codes_map_to_outcomes(fake, scenario, outcome, sub_code):
    fake.scenarios[ID_MATCH] = scenario
    result = await provider(fake).verify_bank4("张三", ID_MATCH, CARD, "13800138000")
    assert (result.outcome, result.sub_code) == (outcome, sub_code)
    call = fake.calls("BankMetaVerify")[0]
    assert call["ProductType"] == "BANK_CARD_4_META" and call["BankCard"] == CARD


async def test_wrong_secret_is_a_permanent_error(fake):
    with pytest.raises(ProviderError) as caught:
        await provider(fake, secret="wrong").verify_phone3("张三", ID_MATCH, "13800138000")
    assert caught.value.code == "SignatureDoesNotMatch" and not caught.value.transient
    assert fake.rejections == ["SignatureDoesNotMatch"]  # not retried


async def test_unknown_key_is_a_permanent_error(fake):
    with pytest.raises(ProviderError) as caught:
        await provider(fake, key="LTAIother").verify_phone3("张三", ID_MATCH, "13800138000")
    assert caught.value.code == "InvalidAccessKeyId.NotFound" and not caught.value.transient


@pytest.mark.parametrize("scenario", ["throttle", "internal"])
async def test_transient_errors_are_retried_then_raised(fake, scenario):
    fake.scenarios[ID_MATCH] = scenario
    with pytest.raises(ProviderError) as caught:
        await provider(fake, retries=2).verify_phone3("张三", ID_MATCH, "13800138000")
    assert caught.value.transient and caught.value.request_id
    assert len(fake.rejections) == 3


async def test_throttled_once_then_answered(fake):
    fake.scenarios[ID_MATCH] = "throttle_once"
    result = await provider(fake).verify_phone3("张三", ID_MATCH, "13800138000")
    assert result.outcome == "match" and fake.rejections == ["Throttling.User"]


async def test_a_slow_answer_times_out(fake):
    fake.scenarios[ID_MATCH] = "slow"
    fake.slow_seconds = 1.5
    with pytest.raises(ProviderError) as caught:
        await provider(fake, timeout=0.3, retries=0).verify_phone3("张三", ID_MATCH, "13800138000")
    assert caught.value.transient


async def test_a_business_error_code_is_never_a_pass(fake):
    fake.scenarios[ID_MATCH] = "business_error"
    with pytest.raises(ProviderError) as caught:
        await provider(fake).verify_phone3("张三", ID_MATCH, "13800138000")
    assert caught.value.code == "401"


# ------------------------------------------------------------------ Dysmsapi SendSms


def sms_settings(fake, **changes):
    values = {
        "sms_provider": "aliyun",
        "aliyun_access_key_id": ACCESS_KEY_ID,
        "aliyun_access_key_secret": ACCESS_KEY_SECRET,
        "aliyun_sms_endpoint": fake.url,
        "aliyun_sms_template_code": "SMS_100001",
        "aliyun_sms_template_invitation": "SMS_100002",
        "aliyun_sms_template_notice": "SMS_100003",
    }
    return replace(get_settings(), **{**values, **changes})


async def test_send_sms_maps_our_texts_to_templates(fake):
    sms = AliyunSmsProvider.from_settings(sms_settings(fake))
    receipt = await sms.send(
        "13800138000", "【签链】您的签署验证码为123456，5分钟内有效，请勿泄露给他人。"
    )
    assert receipt.provider == "aliyun" and receipt.message_id.endswith("^0")
    call = fake.calls("SendSms")[0]
    assert call["Version"] == "2017-05-25" and call["SignName"] == "签链"
    assert call["TemplateCode"] == "SMS_100001" and call["PhoneNumbers"] == "13800138000"
    assert json.loads(call["TemplateParam"]) == {"code": "123456", "minutes": "5"}


def test_invitation_and_notice_texts_have_templates(fake):
    settings = sms_settings(fake)
    code, params = template_for(
        settings,
        "【签链】演示汽车销售服务有限公司请您签署《汽车买卖合同》，12月20日前有效：https://x.cn/s/abc",
    )
    assert code == "SMS_100002"
    assert params == {
        "sender": "演示汽车销售服务有限公司",
        "title": "汽车买卖合同",
        "deadline": "12月20日",
        "url": "https://x.cn/s/abc",
    }
    code, params = template_for(
        settings, "【签链】您的实名认证已通过人工审核，请点击链接继续签署：https://x.cn/s/abc"
    )
    assert code == "SMS_100003" and params["outcome"] == "已通过人工审核"


async def test_send_sms_refusals_raise(fake):
    fake.sms_scenarios["13800138000"] = "limit"
    sms = AliyunSmsProvider.from_settings(sms_settings(fake))
    with pytest.raises(SmsError, match="BUSINESS_LIMIT_CONTROL"):
        await sms.send("13800138000", "【签链】您的签署验证码为123456，5分钟内有效。")
    with pytest.raises(SmsError):
        await sms.send("13800138001", "一条没有模板的短信")
    unset = AliyunSmsProvider.from_settings(sms_settings(fake, aliyun_sms_template_code=""))
    with pytest.raises(SmsError, match="TEMPLATE_CODE"):
        await unset.send("13800138001", "【签链】您的签署验证码为123456，5分钟内有效。")
