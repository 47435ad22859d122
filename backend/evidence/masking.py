"""Personal numbers never enter the audit trail in clear: phones, ID and bank-card numbers.

Callers pass masked values (``138****8000``); :func:`mask_personal_data` is the safety
net run on every event before it is hashed, so a mistake masks instead of leaking.
"""

from __future__ import annotations

import logging
import re
from typing import Any

logger = logging.getLogger("signlink.evidence")

_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
_ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")
_CARD = re.compile(r"^\d{12,19}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Keys that hold personal data by name: any digit run of 7+ in them is masked.
_PERSONAL_KEYS = {
    "phone",
    "mobile",
    "to",
    "id_number",
    "id_card",
    "bank_card",
    "card",
    "card_number",
    "account",
}
_DIGIT_RUN = re.compile(r"\d{7,}")


def _is_id_number(value: str) -> bool:
    if not _ID_NUMBER.match(value):
        return False
    year, month, day = int(value[6:10]), int(value[10:12]), int(value[12:14])
    if not (1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17].upper()


def _luhn(value: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(value)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def mask_number(value: str) -> str:
    """``13800138000`` → ``138****8000``; ID and card numbers keep their ends only."""
    mobile = _MOBILE.match(value)
    if mobile:
        phone = mobile.group(1)
        return f"{phone[:3]}****{phone[-4:]}"
    if len(value) >= 15:
        return f"{value[:1]}{'*' * (len(value) - 5)}{value[-4:]}"
    return f"{value[:2]}{'*' * (len(value) - 4)}{value[-2:]}"


def _mask_string(key: str, value: str) -> str:
    stripped = value.replace(" ", "").replace("-", "")
    if _MOBILE.match(stripped) or _is_id_number(stripped):
        return mask_number(stripped)
    # Ids from providers may be long numbers; only a key about cards is checked by Luhn.
    if _CARD.match(stripped) and not key.endswith("id") and _luhn(stripped):
        return mask_number(stripped)
    if key in _PERSONAL_KEYS:
        return _DIGIT_RUN.sub(lambda m: mask_number(m.group(0)), value)
    return value


def mask_personal_data(data: Any, key: str = "") -> Any:
    """A copy of ``data`` with every clear phone, ID or bank-card number masked."""
    if isinstance(data, dict):
        return {k: mask_personal_data(v, str(k).lower()) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [mask_personal_data(v, key) for v in data]
    if isinstance(data, str):
        masked = _mask_string(key, data)
        if masked != data:
            logger.warning(
                "personal number masked in an audit event", extra={"fields": {"key": key}}
            )
        return masked
    return data
