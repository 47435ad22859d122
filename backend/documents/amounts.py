"""Money as printed in contracts: ``¥ 189,800.00`` and 人民币大写.

The uppercase form follows the People's Bank of China rules for filling in
payment instruments (《正确填写票据和结算凭证的基本规定》): 壹拾 is written in
full, a run of zeros inside the number is one 零, ``元整`` ends an amount
without 角 and 分, nothing follows 分, and 元 is followed by 零 when 角 is zero
but 分 is not (¥325.04 → 叁佰贰拾伍元零肆分).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_LARGE_UNITS = ("", "万", "亿", "万亿")
_CENT = Decimal("0.01")
_LIMIT = Decimal(10) ** 16


def to_cents(amount: Decimal | int | str) -> Decimal:
    """The amount rounded to whole 分 (cents)."""
    return Decimal(amount).quantize(_CENT, rounding=ROUND_HALF_UP)


def format_yuan(amount: Decimal | int | str) -> str:
    """``189800`` → ``¥ 189,800.00``."""
    return f"¥ {to_cents(amount):,.2f}"


def rmb_uppercase(amount: Decimal | int | str) -> str:
    """Chinese uppercase capital numerals for an amount in yuan (人民币大写, no prefix).

    >>> rmb_uppercase("1005.01")
    '壹仟零伍元零壹分'
    """
    value = to_cents(amount)
    if value < 0 or value >= _LIMIT:
        raise ValueError(f"amount out of range: {amount}")
    yuan = int(value)
    cents = int((value - yuan) * 100)
    jiao, fen = divmod(cents, 10)

    words = _integer_words(yuan)
    if yuan:
        words += "元"
    if not cents:
        return (words or "零元") + "整"
    if jiao:
        words += _DIGITS[jiao] + "角"
    elif yuan:
        words += "零"
    if fen:
        words += _DIGITS[fen] + "分"
    return words


def _integer_words(number: int) -> str:
    digits = str(number) if number else ""
    parts: list[str] = []
    pending_zero = False
    for index, char in enumerate(digits):
        position = len(digits) - 1 - index
        digit = int(char)
        if digit == 0:
            pending_zero = True
        else:
            if pending_zero and parts:
                parts.append("零")
            pending_zero = False
            parts.append(_DIGITS[digit] + _SMALL_UNITS[position % 4])
        if position % 4 == 0 and position > 0:
            group = digits[max(0, index - 3) : index + 1]
            if int(group):
                parts.append(_LARGE_UNITS[position // 4])
    return "".join(parts)
