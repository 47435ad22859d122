"""Check digits and masking for the identifiers printed in contracts.

- VIN: ISO 3779 / GB 16735, position 9 is a mod-11 check digit (``X`` for 10).
- Resident identity number: GB 11643, 18 characters, mod-11 check character.
- Unified social credit code: GB 32100, 18 characters, mod-31 check character.
"""

from __future__ import annotations

import re
from datetime import date

VIN_PATTERN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")

_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_digit(vin: str) -> str:
    """The check character a 17-character VIN should carry at position 9."""
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


_ID_PATTERN = re.compile(r"^\d{17}[\dX]$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_number_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of an identity number."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def id_number_birth_date(id_number: str) -> date | None:
    """The birth date encoded in positions 7–14, or None if it is not a real date."""
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def is_id_number_shape(id_number: str) -> bool:
    return _ID_PATTERN.fullmatch(id_number) is not None


_CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_PATTERN = re.compile(rf"^[{_CREDIT_CHARSET}]{{18}}$")
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def is_credit_code_shape(code: str) -> bool:
    return _CREDIT_PATTERN.fullmatch(code) is not None


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a credit code."""
    total = sum(_CREDIT_CHARSET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_CHARSET[(31 - total % 31) % 31]


def mask_id_number(id_number: str) -> str:
    """``110101199003071234`` → ``110101********1234`` (region kept, birth date hidden)."""
    if len(id_number) <= 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_phone(phone: str) -> str:
    """``13800138000`` → ``138****8000``."""
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
