"""Identity providers: one protocol, Aliyun Cloudauth in production, a sandbox by default.

A provider answers match / mismatch / no record, or raises ``ProviderError``. An error is
never a pass: the caller shows "service busy, try again" and records the attempt.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar

from backend.config import Settings

logger = logging.getLogger("signlink.identity")

Outcome = Literal["match", "mismatch", "no_record"]
T = TypeVar("T")


@dataclass(frozen=True)
class CheckResult:
    """The provider's verdict and its own request id (kept for the evidence trail)."""

    outcome: Outcome
    provider: str
    request_id: str
    sub_code: str = ""
    detail: dict[str, str] = field(default_factory=dict)


class ProviderError(Exception):
    """No verdict: a timeout, throttling, bad credentials, an unexpected answer."""

    def __init__(self, code: str, *, transient: bool, request_id: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.transient = transient
        self.request_id = request_id


class IdentityProvider(Protocol):
    name: str

    async def verify_phone3(self, name: str, id_number: str, mobile: str) -> CheckResult:
        """Mobile 3-factor: the mobile is registered to this name and ID number."""
        ...

    async def verify_bank4(self, name: str, id_number: str, card: str, mobile: str) -> CheckResult:
        """Bank-card 4-factor: card, holder's name, ID number and the card's reserved mobile."""
        ...


async def with_retries(
    call: Callable[[], Awaitable[T]], retries: int, base_delay: float = 0.4
) -> T:
    """Run ``call``; after a transient ProviderError wait (exponential backoff) and retry."""
    attempt = 0
    while True:
        try:
            return await call()
        except ProviderError as exc:
            if not exc.transient or attempt >= retries:
                raise
            delay = base_delay * 2**attempt
            logger.warning(
                "identity provider busy, retrying",
                extra={"fields": {"code": exc.code, "attempt": attempt + 1, "delay": delay}},
            )
            attempt += 1
            await asyncio.sleep(delay)


# ------------------------------------------------------------------ sandbox

#: Test identities of the sandbox (documented in backend/identity/README.md). Any other
#: valid ID number matches; these answer otherwise, for every method.
SANDBOX_MISMATCH = "110105199003070025"
SANDBOX_NO_RECORD = "110105199003070033"
SANDBOX_ERROR = "110105199003070041"


class SandboxIdentityProvider:
    """Answers offline and for free, following the documented test identities."""

    name = "sandbox"

    def _answer(self, id_number: str, mismatch_sub: str) -> CheckResult:
        request_id = f"sandbox-{uuid.uuid4()}"
        if id_number == SANDBOX_ERROR:
            raise ProviderError("SandboxServiceUnavailable", transient=False, request_id=request_id)
        if id_number == SANDBOX_MISMATCH:
            return CheckResult("mismatch", self.name, request_id, mismatch_sub)
        if id_number == SANDBOX_NO_RECORD:
            return CheckResult("no_record", self.name, request_id, "301")
        return CheckResult("match", self.name, request_id, "101")

    async def verify_phone3(self, name: str, id_number: str, mobile: str) -> CheckResult:
        return self._answer(id_number, "201")

    async def verify_bank4(self, name: str, id_number: str, card: str, mobile: str) -> CheckResult:
        return self._answer(id_number, "201")


def get_identity_provider(settings: Settings) -> IdentityProvider:
    if settings.identity_provider == "sandbox":
        return SandboxIdentityProvider()
    if settings.identity_provider == "aliyun":
        from backend.identity.aliyun import AliyunIdentityProvider

        return AliyunIdentityProvider.from_settings(settings)
    raise ValueError(f"unknown identity provider {settings.identity_provider!r}")
