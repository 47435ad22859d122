from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from documents_data import car_data, valid_id_number, valid_vin, with_changes

from backend.documents import ContractTemplate, TemplateDataError, get_template, list_templates
from backend.documents.validation import china_today

CJK = re.compile(r"[\u4e00-\u9fff]")


def errors_of(template: ContractTemplate, data: dict[str, object]) -> dict[str, str]:
    with pytest.raises(TemplateDataError) as caught:
        template.validate(data)
    for error in caught.value.errors:
        assert CJK.search(error.message), error
        assert error.message_en and not CJK.search(error.message_en), error
    return {e.path: e.message for e in caught.value.errors}


def test_catalog() -> None:
    assert [t.key for t in list_templates()] == [
        "car-purchase",
        "test-drive",
        "waybill",
        "dealer-agreement",
        "lease-guarantee",
        "price-difference",
    ]
    assert get_template("no-such-template") is None
    car = get_template("car-purchase")
    assert car is not None
    assert (car.title, car.version) == ("汽车买卖合同", 1)
    assert [(r.key, r.label) for r in car.roles] == [("buyer", "买方"), ("dealer", "卖方")]


def test_good_data_is_cleaned(template: ContractTemplate, data: dict[str, object]) -> None:
    messy = with_changes(
        data,
        **{
            "buyer.name": "  阿卜杜拉•买买提 ",
            "buyer.phone": "+86 138-0013-8000",
            "buyer.id_number": valid_id_number("11010519491231002").lower(),
            "vehicle.vin": valid_vin().lower(),
            "price": "189,800.5",
            "deposit": 0,
            "dealer.address": "北京市朝阳区\n示例路88号",
            "future_field": {"anything": 1},
        },
    )
    cleaned = template.validate(messy)
    buyer = cleaned["buyer"]
    assert isinstance(buyer, dict)
    assert buyer["name"] == "阿卜杜拉·买买提"
    assert buyer["phone"] == "13800138000"
    assert buyer["id_number"] == "11010519491231002X"
    assert cleaned["vehicle"] == {"model": "比亚迪 汉 EV 2026款 冠军版", "vin": valid_vin(),
                                  "colour": "极地白"}  # fmt: skip
    assert cleaned["price"] == "189800.50"
    assert cleaned["deposit"] == "0.00"
    assert cleaned["dealer"]["address"] == "北京市朝阳区 示例路88号"  # type: ignore[index]
    assert "future_field" not in cleaned  # unknown keys are ignored and dropped
    assert template.validate(cleaned) == cleaned  # cleaned data validates to itself


def test_optional_fields_may_be_absent(template: ContractTemplate, data: dict[str, object]) -> None:
    minimal = with_changes(
        data,
        **{
            "buyer.id_number": ...,
            "buyer.address": "",
            "deposit": None,
            "delivery_place": ...,
            "dealer.address": ...,
            "dealer.credit_code": ...,
            "dealer.phone": ...,
        },
    )
    cleaned = template.validate(minimal)
    assert cleaned["deposit"] is None
    assert cleaned["buyer"]["id_number"] is None  # type: ignore[index]


def test_float_price_is_exact(template: ContractTemplate, data: dict[str, object]) -> None:
    assert template.validate(with_changes(data, price=189800.1))["price"] == "189800.10"


def _bad_vin_check_digit() -> str:
    vin = valid_vin()
    wrong = "1" if vin[8] != "1" else "2"
    return vin[:8] + wrong + vin[9:]


def _bad_id_checksum() -> str:
    good = valid_id_number()
    return good[:17] + ("0" if good[17] != "0" else "1")


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("vehicle.vin", "LC0C76C42R012345", "17位"),
        ("vehicle.vin", "LC0C76C42R01234567", "17位"),
        ("vehicle.vin", "LC0C76C42R012345I", "不含 I、O、Q"),
        ("vehicle.vin", "LC0C76C42R012345O", "不含 I、O、Q"),
        ("vehicle.vin", "LC0C76C42R012345Q", "不含 I、O、Q"),
        ("vehicle.vin", _bad_vin_check_digit(), "校验位"),
        ("buyer.phone", "12800138000", "手机号"),
        ("buyer.phone", "1380013800", "手机号"),
        ("buyer.phone", "138001380001", "手机号"),
        ("buyer.id_number", _bad_id_checksum(), "校验位"),
        ("buyer.id_number", valid_id_number("11010119900230123"), "出生日期"),
        ("buyer.id_number", "11010119900307123", "18位"),
        ("dealer.credit_code", "91350100M000100Y44", "校验位"),
        ("dealer.credit_code", "91350100M000100Y4", "18位"),
        ("price", -1, "大于0"),
        ("price", 0, "大于0"),
        ("price", "12.345", "2位小数"),
        ("price", 1.005, "2位小数"),
        ("price", "abc", "数字"),
        ("price", True, "数字"),
        ("price", float("nan"), "数字"),
        ("price", [189800], "数字"),
        ("price", 100_000_000.01, "1亿"),
        ("deposit", 189800.01, "不能超过车辆总价款"),
        ("deposit", -5, "大于0"),
        ("delivery_date", (china_today() - timedelta(days=1)).isoformat(), "不能早于今天"),
        ("delivery_date", "2026/12/01", "YYYY-MM-DD"),
        ("delivery_date", "2027-02-30", "不是有效日期"),
        ("delivery_date", 20271201, "YYYY-MM-DD"),
        ("buyer.name", "张", "2–30"),
        ("buyer.name", "张" * 31, "2–30"),
        ("buyer.name", "张\u202e三", "无法打印"),  # bidi override could disguise the text
        ("buyer.name", "张😀", "无法打印"),
        ("buyer.name", 42, "文字"),
        ("dealer.name", "公" * 41, "2–40"),
        ("buyer.address", "路" * 61, "1–60"),
    ],
)
def test_bad_field_is_named(
    template: ContractTemplate, data: dict[str, object], path: str, value: object, expected: str
) -> None:
    errors = errors_of(template, with_changes(data, **{path: value}))
    assert list(errors) == [path]
    assert expected in errors[path]


@pytest.mark.parametrize(
    "path",
    ["buyer.name", "buyer.phone", "vehicle.model", "vehicle.vin", "vehicle.colour", "price",
     "delivery_date", "dealer.name"],
)  # fmt: skip
@pytest.mark.parametrize("missing", [..., None, "", "   "])
def test_missing_required_field(
    template: ContractTemplate, data: dict[str, object], path: str, missing: object
) -> None:
    errors = errors_of(template, with_changes(data, **{path: missing}))
    assert list(errors) == [path]
    assert errors[path].startswith("请填写")


def test_delivery_today_is_allowed(template: ContractTemplate, data: dict[str, object]) -> None:
    today = date(2026, 3, 1)
    assert template.validate(with_changes(data, delivery_date="2026-03-01"), today=today)
    with pytest.raises(TemplateDataError):
        template.validate(with_changes(data, delivery_date="2026-02-28"), today=today)


def test_every_error_is_reported_at_once(template: ContractTemplate) -> None:
    bad = with_changes(
        car_data(),
        **{
            "buyer.phone": "12345",
            "buyer.id_number": "110101199003071230",
            "vehicle.vin": "LC0C76C4IR0123456",
            "vehicle.colour": ...,
            "price": "-3",
            "delivery_date": "tomorrow",
            "dealer.credit_code": "nope",
        },
    )
    assert set(errors_of(template, bad)) == {
        "buyer.phone",
        "buyer.id_number",
        "vehicle.vin",
        "vehicle.colour",
        "price",
        "delivery_date",
        "dealer.credit_code",
    }


def test_missing_or_malformed_objects(template: ContractTemplate) -> None:
    no_buyer = with_changes(car_data(), buyer=..., dealer="演示公司")
    errors = errors_of(template, no_buyer)
    assert set(errors) == {"buyer.name", "buyer.phone", "dealer"}
    with pytest.raises(TemplateDataError) as caught:
        template.validate([])  # type: ignore[arg-type]
    assert caught.value.errors[0].path == ""


def test_deposit_error_comes_with_field_errors(template: ContractTemplate) -> None:
    bad = with_changes(car_data(), price="100", deposit="200", **{"buyer.phone": "1"})
    assert set(errors_of(template, bad)) == {"deposit", "buyer.phone"}


def test_describe_fields(template: ContractTemplate) -> None:
    fields = template.describe_fields()
    paths = [f["path"] for f in fields]
    assert len(paths) == len(set(paths))
    assert {"buyer.name", "vehicle.vin", "price", "deposit", "delivery_date", "dealer.name"} <= set(
        paths
    )
    for f in fields:
        assert set(f) >= {"path", "type", "required", "label", "label_en", "example"}
        assert f["type"] in {"string", "number", "date", "boolean"}
    required = {f["path"] for f in fields if f["required"]}
    assert "buyer.id_number" not in required and "buyer.phone" in required
    # the documented examples form a valid contract
    example: dict[str, object] = {}
    for f in fields:
        *parents, leaf = str(f["path"]).split(".")
        node = example
        for name in parents:
            node = node.setdefault(name, {})  # type: ignore[assignment]
        node[leaf] = f["example"]
    assert template.validate(example, today=date(2026, 1, 1))


def test_accented_names_are_printable(template: ContractTemplate, data: dict[str, object]) -> None:
    cleaned = template.validate(with_changes(data, **{"buyer.name": "Antonín Dvořák"}))
    # ř has no glyph of its own in Noto SC; r + combining caron does
    assert cleaned["buyer"]["name"] == "Antonín Dvor\u030cák"  # type: ignore[index]
