"""The checks that run before any paid call."""

from __future__ import annotations

from datetime import date

import pytest

from backend.identity import checks
from backend.identity.verification import ACCEPTED, methods_for
from tests.unit.identity.support import CARD, CARD_BAD_LUHN, ID_BAD_CHECKSUM, ID_MATCH, ID_X


@pytest.mark.parametrize("number", [ID_MATCH, ID_X, "11010519491231002X"])
def test_valid_id_numbers_pass(number):
    assert checks.check_id_number(number) is None


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (ID_BAD_CHECKSUM, "校验位"),
        ("11010519900307001", "18 位"),
        ("1101051990030700171", "18 位"),
        ("11010519900230001X", "出生日期"),  # 30 February
        ("110105209901010010", "出生日期"),  # born in 2099
        ("11010518000101001X", "出生日期"),
        ("11010519900307001x", "18 位"),  # lower-case x is normalised first, not here
    ],
)
def test_invalid_id_numbers_say_why(number, words):
    problem = checks.check_id_number(number, today=date(2026, 1, 1))
    assert problem is not None and words in problem.message


def test_id_number_is_normalised_before_checking():
    assert checks.normalise_id_number(" 11010519900307005x ") == ID_X


@pytest.mark.parametrize("name", ["张三", "欧阳娜娜", "迪丽热巴·迪力木拉提", "阿沛·阿旺晋美"])
def test_chinese_names_pass(name):
    assert checks.check_name(name) is None


@pytest.mark.parametrize(
    "name", ["张", "Zhang San", "张三3", "·张三", "张三·", "张··三", "张<script>", "张 三"]
)
def test_other_names_are_refused(name):
    assert checks.check_name(name) is not None


@pytest.mark.parametrize("dot", ["•", "・", ".", "．"])
def test_middle_dot_variants_become_one(dot):
    assert checks.normalise_name(f"迪丽热巴{dot}迪力木拉提") == "迪丽热巴·迪力木拉提"


@pytest.mark.parametrize("mobile", ["13800138000", "19912345678", "16612345678"])
def test_mainland_mobiles_pass(mobile):
    assert checks.check_mobile(mobile) is None


@pytest.mark.parametrize("mobile", ["12800138000", "1380013800", "138001380001", "+8613800138000"])
def test_other_mobiles_are_refused(mobile):
    assert checks.check_mobile(mobile) is not None


def test_luhn():
    assert checks.check_bank_card(CARD) is None
    assert checks.check_bank_card("4111111111111111") is None
    assert "校验" in checks.check_bank_card(CARD_BAD_LUHN).message
    assert checks.check_bank_card("62220212345") is not None  # too short
    assert checks.check_bank_card("6222abcd12345678") is not None
    assert checks.normalise_digits("6222 0212-3456 7890 128") == CARD


def test_masks_keep_three_and_four():
    assert checks.mask_number(ID_MATCH) == "110***********0017"
    assert checks.mask_number(CARD) == "622************0128"


def test_other_documents_need_a_plausible_number():
    assert checks.check_other_document("E12345678") is None
    assert checks.check_other_document("H1234567") is None
    assert checks.check_other_document("E1") is not None


def test_levels_accept_stronger_methods_and_manual_review():
    assert methods_for("phone3", "id_card") == ["phone3", "bank4", "face", "manual"]
    assert methods_for("bank4", "id_card") == ["bank4", "face", "manual"]
    assert methods_for("face", "id_card") == ["face", "manual"]
    assert methods_for("phone3", "passport") == ["manual"]
    assert methods_for("none", "id_card") == []
    assert all("manual" in accepted for accepted in ACCEPTED.values())
