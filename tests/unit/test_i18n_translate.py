"""Messages made in Python, as an English page shows them (backend.i18n.translate)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from markupsafe import Markup

from backend import i18n
from backend.errors import AppError

LOCALE = Path(__file__).resolve().parents[2] / "pwa" / "locale"


@pytest.fixture
def english() -> Iterator[None]:
    i18n.load_catalogues(LOCALE)
    token = i18n._lang.set("en")
    try:
        yield
    finally:
        i18n._lang.reset(token)


def test_a_marked_message_is_translated(english: None) -> None:
    expired = "验证码已过期，请重新获取。"
    assert i18n.translate(expired) == "The code has expired; ask for a new one."


def test_a_filled_in_message_is_recognised_and_its_parts_translated(english: None) -> None:
    assert i18n.translate("验证码错误，还可尝试 3 次。") == "Wrong code; 3 attempts left."
    assert i18n.translate("请上传证件正面照片。") == "Upload the photo of the front of the ID."
    assert i18n.translate("没有检测到“眨眨眼”。请按提示做出明显的动作。") == (
        "We could not see you blink. Make each action clearly as prompted."
    )


def test_data_and_english_text_come_back_unchanged(english: None) -> None:
    for text in ("演示汽车销售服务有限公司", "张三", "Already English.", ""):
        assert i18n.translate(text) == text
    assert i18n.translate(None) == ""
    escaped = Markup("<b>已翻译</b>")
    assert i18n.translate(escaped) is escaped  # the template's own translation, kept


def test_an_error_falls_back_to_its_own_english(english: None) -> None:
    known = AppError("x", "请先获取短信验证码。", "unused", 400)
    assert i18n.translate(known) == "Ask for an SMS code first."
    unknown = AppError("x", "一条没有登记的提示。", "A note of its own.", 400)
    assert i18n.translate(unknown) == "A note of its own."


def test_an_error_is_not_mistaken_for_a_pattern_it_happens_to_match(english: None) -> None:
    from backend.errors import FieldProblem

    # "%(name)s（%(role)s）" would match and leave "请填写车辆总价款 (元)" half translated.
    missing = FieldProblem("price", "请填写车辆总价款（元）", "Total price (yuan) is required")
    assert i18n.translate(missing) == "Total price (yuan) is required"


def test_chinese_pages_keep_the_source_text() -> None:
    i18n.load_catalogues(LOCALE)
    assert i18n.current() == "zh-CN"
    assert i18n.translate("验证码错误，还可尝试 3 次。") == "验证码错误，还可尝试 3 次。"
    assert i18n.translate(AppError("x", "中文提示。", "English note.", 400)) == "中文提示。"
