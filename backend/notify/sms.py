"""SMS providers. One protocol; the outbox file is the embedded default."""

from __future__ import annotations

import asyncio
import fcntl
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from backend.config import Settings
from backend.database import utcnow


@dataclass(frozen=True)
class SmsReceipt:
    provider: str
    message_id: str


class SmsError(Exception):
    """The provider did not accept the message; never treated as sent."""


class SmsProvider(Protocol):
    name: str

    async def send(self, to: str, text: str) -> SmsReceipt: ...


class OutboxSmsProvider:
    """Appends each message as one JSON line to a file: for development, demos and tests."""

    name = "outbox"

    def __init__(self, path: Path) -> None:
        self.path = path

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.write(line + "\n")

    async def send(self, to: str, text: str) -> SmsReceipt:
        message_id = uuid.uuid4().hex
        entry = {"to": to, "text": text, "at": utcnow().isoformat(), "id": message_id}
        await asyncio.to_thread(self._append, json.dumps(entry, ensure_ascii=False))
        return SmsReceipt(provider=self.name, message_id=message_id)


def get_sms_provider(settings: Settings) -> SmsProvider:
    """'outbox' (the default) or 'aliyun' (Dysmsapi SendSms, see backend/notify/aliyun.py)."""
    if settings.sms_provider == "outbox":
        return OutboxSmsProvider(settings.sms_outbox_path)
    if settings.sms_provider == "aliyun":
        from backend.notify.aliyun import AliyunSmsProvider

        return AliyunSmsProvider.from_settings(settings)
    raise ValueError(f"unknown SMS provider {settings.sms_provider!r}")
