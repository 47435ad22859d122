from __future__ import annotations

from decimal import Decimal

import pytest

from backend.documents import format_yuan, rmb_uppercase


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0.5", "伍角"),
        ("0.05", "伍分"),
        ("0.55", "伍角伍分"),
        ("1", "壹元整"),
        ("10", "壹拾元整"),  # 壹拾, never a bare 拾
        ("15", "壹拾伍元整"),
        ("100", "壹佰元整"),
        ("1010", "壹仟零壹拾元整"),
        ("1005.01", "壹仟零伍元零壹分"),
        ("1409.50", "壹仟肆佰零玖元伍角"),  # PBoC example
        ("16409.02", "壹万陆仟肆佰零玖元零贰分"),  # PBoC example: 角 zero → 元零
        ("325.04", "叁佰贰拾伍元零肆分"),  # PBoC example
        ("1680.32", "壹仟陆佰捌拾元叁角贰分"),  # PBoC: 零 after 元 optional; we omit it
        ("107000.53", "壹拾万零柒仟元伍角叁分"),  # PBoC allowed form
        ("10005", "壹万零伍元整"),
        ("110000", "壹拾壹万元整"),
        ("189800", "壹拾捌万玖仟捌佰元整"),
        ("1001000", "壹佰万零壹仟元整"),
        ("100000000", "壹亿元整"),
        ("100050000", "壹亿零伍万元整"),
        ("99999999.99", "玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
        ("0", "零元整"),
    ],
)
def test_rmb_uppercase(amount: str, words: str) -> None:
    assert rmb_uppercase(Decimal(amount)) == words


def test_rmb_uppercase_rejects_negative() -> None:
    with pytest.raises(ValueError):
        rmb_uppercase(Decimal("-1"))


@pytest.mark.parametrize(
    ("amount", "text"),
    [(189800, "¥ 189,800.00"), ("0.5", "¥ 0.50"), ("100000000", "¥ 100,000,000.00")],
)
def test_format_yuan(amount: int | str, text: str) -> None:
    assert format_yuan(amount) == text
