"""Aliyun RPC calls through aliyun-python-sdk-core ``CommonRequest``, and Dysmsapi SendSms.

The SDK is synchronous: every call runs in a worker thread (``asyncio.to_thread``), never
on the event loop. Personal data goes in the POST form body, never in the URL, so it is
neither in access logs nor in the SDK's debug log of query parameters.

Relied on (Aliyun documentation and the official SDK models):
- RPC signature v1: HMAC-SHA1 over ``METHOD&%2F&percentEncode(sorted query)`` with key
  ``secret + "&"``; the SDK adds Timestamp, SignatureNonce, AccessKeyId, Format, Version.
- Dysmsapi 2017-05-25 ``SendSms``: PhoneNumbers, SignName, TemplateCode, TemplateParam
  (a JSON object); answer ``{"Code": "OK", "Message", "BizId", "RequestId"}``, any other
  Code is a failure (e.g. ``isv.BUSINESS_LIMIT_CONTROL``, ``isv.MOBILE_NUMBER_ILLEGAL``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest

from backend.config import Settings
from backend.notify.sms import SmsError, SmsReceipt

logger = logging.getLogger("signlink.aliyun")

# Answers worth another try a moment later; anything else is final.
_TRANSIENT = re.compile(
    r"^(Throttling|ServiceUnavailable|InternalError|SystemBusy|ServiceTimeout|SDK\.HttpError)"
)


class AliyunError(Exception):
    """An Aliyun call without a usable answer. ``code`` is Aliyun's error code."""

    def __init__(self, code: str, *, transient: bool, request_id: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.transient = transient
        self.request_id = request_id


@dataclass(frozen=True)
class AliyunRpcClient:
    """One product endpoint (Cloudauth, Dysmsapi) with the account's credentials."""

    access_key_id: str
    access_key_secret: str
    region: str
    endpoint: str
    timeout_seconds: float

    def _request(self, version: str, action: str, params: dict[str, str]) -> CommonRequest:
        request = CommonRequest()
        request.set_accept_format("json")
        request.set_method("POST")
        request.set_version(version)
        request.set_action_name(action)
        if self.endpoint.startswith(("http://", "https://")):
            request.set_protocol_type(self.endpoint.split("://", 1)[0])
            request.set_domain(self.endpoint.rstrip("/"))
        else:
            request.set_protocol_type("https")
            request.set_domain(self.endpoint)
        for key, value in params.items():
            request.add_body_params(key, value)
        request.set_read_timeout(self.timeout_seconds)
        request.set_connect_timeout(min(self.timeout_seconds, 5))
        return request

    def call_sync(self, version: str, action: str, params: dict[str, str]) -> dict[str, Any]:
        # Retries are ours (with backoff, counted, logged); the SDK's would be invisible.
        client = AcsClient(
            self.access_key_id, self.access_key_secret, self.region, auto_retry=False
        )
        try:
            body = client.do_action_with_exception(self._request(version, action, params))
        except ServerException as exc:
            code = exc.get_error_code() or "ServerError"
            status = exc.get_http_status() or 0
            raise AliyunError(
                code,
                transient=status >= 500 or bool(_TRANSIENT.match(code)),
                request_id=exc.get_request_id() or "",
            ) from None
        except ClientException as exc:
            code = exc.get_error_code() or "SDK.ClientError"
            raise AliyunError(code, transient=bool(_TRANSIENT.match(code))) from None
        except Exception as exc:
            # Only the type: SDK messages may quote the signed request (personal data).
            logger.error("aliyun sdk failed", extra={"fields": {"error": type(exc).__name__}})
            raise AliyunError("SDK.UnexpectedError", transient=False) from None
        try:
            answer = json.loads(body)
        except ValueError:
            raise AliyunError("InvalidResponse", transient=True) from None
        if not isinstance(answer, dict):
            raise AliyunError("InvalidResponse", transient=True)
        return answer

    async def call(self, version: str, action: str, params: dict[str, str]) -> dict[str, Any]:
        return await asyncio.to_thread(self.call_sync, version, action, params)


# ------------------------------------------------------------------ SMS

# Aliyun sends only approved templates with variables, not free text: each text we send
# is matched back to its template (backend/notify/messages.py and the identity texts).
_TEMPLATES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("aliyun_sms_template_code", re.compile(r"验证码为(?P<code>\d{4,8})，(?P<minutes>\d+)分钟")),
    (
        "aliyun_sms_template_invitation",
        re.compile(
            r"^(?P<sender>.*?)请您签署《(?P<title>.+?)》，(?P<deadline>\d+月\d+日)前有效：(?P<url>\S+)$"
        ),
    ),
    (
        "aliyun_sms_template_notice",
        re.compile(r"^您的实名认证(?P<outcome>.+?)，请点击链接.*?：(?P<url>\S+)$"),
    ),
)
_SIGN = re.compile(r"^【[^】]*】")


def template_for(settings: Settings, text: str) -> tuple[str, dict[str, str]]:
    """The template code and its variables for one of our SMS texts."""
    body = _SIGN.sub("", text, count=1)
    for setting, pattern in _TEMPLATES:
        found = pattern.search(body)
        if found:
            code = getattr(settings, setting)
            if not code:
                raise SmsError(f"SIGNLINK_{setting.upper()} is not set")
            return code, found.groupdict()
    raise SmsError("no Dysmsapi template matches this message")


class AliyunSmsProvider:
    """Dysmsapi 2017-05-25 SendSms."""

    name = "aliyun"
    version = "2017-05-25"

    def __init__(self, settings: Settings, rpc: AliyunRpcClient) -> None:
        self.settings = settings
        self.rpc = rpc

    @classmethod
    def from_settings(cls, settings: Settings) -> AliyunSmsProvider:
        return cls(
            settings,
            AliyunRpcClient(
                settings.aliyun_access_key_id,
                settings.aliyun_access_key_secret,
                settings.aliyun_region,
                settings.aliyun_sms_endpoint,
                settings.aliyun_timeout_seconds,
            ),
        )

    async def send(self, to: str, text: str) -> SmsReceipt:
        template, variables = template_for(self.settings, text)
        params = {
            "PhoneNumbers": to,
            "SignName": self.settings.sms_sign_name,
            "TemplateCode": template,
            "TemplateParam": json.dumps(variables, ensure_ascii=False),
        }
        try:
            answer = await self.rpc.call(self.version, "SendSms", params)
        except AliyunError as exc:
            logger.warning("sms not accepted", extra={"fields": {"code": exc.code}})
            raise SmsError(exc.code) from None
        if answer.get("Code") != "OK":
            code = str(answer.get("Code") or "Unknown")
            logger.warning(
                "sms not accepted",
                extra={"fields": {"code": code, "request_id": answer.get("RequestId", "")}},
            )
            raise SmsError(code)
        return SmsReceipt(provider=self.name, message_id=str(answer.get("BizId") or ""))
