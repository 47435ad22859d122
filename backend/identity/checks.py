"""Checks that run before any paid call: invalid input never reaches a provider.

The GB 11643 arithmetic lives in ``backend.documents.identifiers`` (it also checks the
identity numbers printed in contracts); this module turns it into answers for people.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from backend.documents.identifiers import (
    id_number_birth_date,
    id_number_check_char,
    is_id_number_shape,
)
from backend.i18n import N_

ID_TYPES = {
    "id_card": N_("居民身份证"),
    "passport": N_("护照"),
    "hk_macau": N_("港澳居民来往内地通行证"),
    "taiwan": N_("台湾居民来往大陆通行证"),
}
MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Han characters (basic block and extension A), names of ethnic minorities joined by "·".
_HAN = r"[\u3400-\u4dbf\u4e00-\u9fff]"
_NAME = re.compile(rf"^{_HAN}+(?:·{_HAN}+)*$")
# Phones and IMEs type the middle dot in several ways; all mean U+00B7.
_DOTS = str.maketrans({"•": "·", "・": "·", "．": "·", ".": "·", "‧": "·", "∙": "·"})
_OTHER_DOCUMENT = re.compile(r"^[A-Z0-9]{5,20}$")


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


def normalise_name(raw: str) -> str:
    return re.sub(r"\s+", "", raw).translate(_DOTS)


def check_name(name: str) -> Problem | None:
    if not 2 <= len(name) <= 30 or not _NAME.fullmatch(name):
        return Problem(
            "name",
            N_("姓名须为身份证上的中文姓名（少数民族姓名用“·”分隔），请核对后重试。"),
        )
    return None


def normalise_id_number(raw: str) -> str:
    return re.sub(r"\s+", "", raw).upper()


def check_id_number(id_number: str, today: date | None = None) -> Problem | None:
    """GB 11643: 18 characters, a real birth date not in the future, the check character."""
    if not is_id_number_shape(id_number):
        return Problem(
            "id_number", N_("身份证号应为 18 位，最后一位可能是数字或 X，请核对后重试。")
        )
    born = id_number_birth_date(id_number)
    if born is None or born > (today or date.today()) or born.year < 1900:
        return Problem("id_number", N_("身份证号中的出生日期不正确，请核对后重试。"))
    if id_number_check_char(id_number[:17]) != id_number[17]:
        return Problem("id_number", N_("身份证号校验位不正确，可能有数字输错，请逐位核对。"))
    return None


def check_other_document(number: str) -> Problem | None:
    """Passports and permits go to manual review: only a plausible shape is required."""
    if not _OTHER_DOCUMENT.fullmatch(number):
        return Problem("id_number", N_("证件号码应为 5–20 位字母或数字，请核对后重试。"))
    return None


def normalise_digits(raw: str) -> str:
    return re.sub(r"[\s-]", "", raw)


def check_mobile(mobile: str) -> Problem | None:
    if not MOBILE.fullmatch(mobile):
        return Problem("mobile", N_("手机号应为 11 位中国大陆手机号，如 13800138000。"))
    return None


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def check_bank_card(card: str) -> Problem | None:
    if not (card.isdigit() and 12 <= len(card) <= 19):
        return Problem("card", N_("银行卡号应为 12–19 位数字，请核对卡面后重试。"))
    if not luhn_ok(card):
        return Problem("card", N_("银行卡号有误（校验未通过），请逐位核对卡面数字。"))
    return None


def mask_number(number: str) -> str:
    """Shown masked, the way the issue asks: ``110***********1234``."""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]
