"""Aliyun Cloudauth (version 2019-03-07) as the production identity provider.

Relied on (Aliyun Cloudauth API reference and the official SDK models for 2019-03-07,
``Mobile3MetaDetailVerifyRequest/ResponseBody`` and ``BankMetaVerifyRequest/ResponseBody``):

- ``Mobile3MetaDetailVerify``: ParamType=normal, UserName, IdentifyNum, Mobile.
- ``BankMetaVerify``: ProductType=BANK_CARD_4_META, VerifyMode=VERIFY_BANK_CARD,
  ParamType=normal, UserName, IdentifyNum, BankCard, Mobile.
- Answer: ``{"Code": "200", "Message", "RequestId", "ResultObject": {"BizCode", "SubCode"}}``.
  Code other than "200" is an error. BizCode 1 = consistent (billed), 2 = inconsistent
  (billed), 3 = no record (not billed). SubCode details it: Mobile3 101 pass, 201–204
  which factor disagrees, 301 no record; BankMeta 101 pass, 201–216 card / holder
  problems, 301–306 the bank cannot verify.
"""

from __future__ import annotations

from typing import Any

from backend.config import Settings
from backend.identity.providers import CheckResult, Outcome, ProviderError, with_retries
from backend.notify.aliyun import AliyunError, AliyunRpcClient

VERSION = "2019-03-07"
_OUTCOMES: dict[str, Outcome] = {"1": "match", "2": "mismatch", "3": "no_record"}


class AliyunIdentityProvider:
    name = "aliyun"

    def __init__(self, rpc: AliyunRpcClient, retries: int = 2, backoff: float = 0.4) -> None:
        self.rpc = rpc
        self.retries = retries
        self.backoff = backoff

    @classmethod
    def from_settings(cls, settings: Settings) -> AliyunIdentityProvider:
        rpc = AliyunRpcClient(
            settings.aliyun_access_key_id,
            settings.aliyun_access_key_secret,
            settings.aliyun_region,
            settings.aliyun_cloudauth_endpoint,
            settings.aliyun_timeout_seconds,
        )
        return cls(rpc, retries=settings.aliyun_max_retries)

    async def _call(self, action: str, params: dict[str, str]) -> CheckResult:
        async def once() -> CheckResult:
            try:
                answer = await self.rpc.call(VERSION, action, params)
            except AliyunError as exc:
                raise ProviderError(
                    exc.code, transient=exc.transient, request_id=exc.request_id
                ) from None
            return _result(self.name, answer)

        return await with_retries(once, self.retries, self.backoff)

    async def verify_phone3(self, name: str, id_number: str, mobile: str) -> CheckResult:
        return await self._call(
            "Mobile3MetaDetailVerify",
            {"ParamType": "normal", "UserName": name, "IdentifyNum": id_number, "Mobile": mobile},
        )

    async def verify_bank4(self, name: str, id_number: str, card: str, mobile: str) -> CheckResult:
        return await self._call(
            "BankMetaVerify",
            {
                "ProductType": "BANK_CARD_4_META",
                "VerifyMode": "VERIFY_BANK_CARD",
                "ParamType": "normal",
                "UserName": name,
                "IdentifyNum": id_number,
                "BankCard": card,
                "Mobile": mobile,
            },
        )


def _result(provider: str, answer: dict[str, Any]) -> CheckResult:
    request_id = str(answer.get("RequestId") or "")
    code = str(answer.get("Code") or "")
    if code != "200":
        # Errors answered with HTTP 200 (e.g. business throttling) are still errors.
        transient = code.startswith(("Throttling", "ServiceUnavailable", "InternalError"))
        raise ProviderError(code or "NoCode", transient=transient, request_id=request_id)
    result = answer.get("ResultObject")
    biz = str(result.get("BizCode", "")) if isinstance(result, dict) else ""
    outcome = _OUTCOMES.get(biz)
    if outcome is None or not isinstance(result, dict):
        raise ProviderError(f"UnexpectedBizCode:{biz}", transient=False, request_id=request_id)
    detail = {"isp": str(result["IspName"])} if result.get("IspName") else {}
    return CheckResult(outcome, provider, request_id, str(result.get("SubCode") or ""), detail)
