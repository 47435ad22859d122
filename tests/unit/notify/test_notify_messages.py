"""The SMS texts stay within about one 70-character segment with a real short domain."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from backend.config import Settings
from backend.envelopes.services import signer_link
from backend.notify import messages


def test_invitation_is_about_one_sms_segment() -> None:
    settings = Settings(public_url="https://sl.example.cn")
    url = signer_link(settings, uuid.uuid4(), "nonce")
    text = messages.signing_invitation(
        "签链", "演示汽车销售服务有限公司", "汽车买卖合同", datetime(2026, 11, 29, tzinfo=UTC), url
    )
    assert url in text and "11月29日" in text
    assert len(text) <= 80, (len(text), text)


def test_intent_code_text_carries_the_code_and_validity() -> None:
    text = messages.intent_code("签链", "123456", 5)
    assert "123456" in text and "5分钟" in text
    assert len(text) <= 70
