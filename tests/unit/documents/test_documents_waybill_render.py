from __future__ import annotations

import copy

from chain_support import errors_of, render, text

from backend.documents import get_template


def _data() -> dict:
    template = get_template("waybill")
    assert template is not None
    data = copy.deepcopy(template.example_data())
    data["vehicles"] = [
        {"vin": "LGXCE6CD9R0123456", "model": "比亚迪 汉 EV", "colour": "极地白"},
        {"vin": "LFV3A23C0N3000123", "model": "大众 ID.4 CROZZ", "colour": "星空蓝"},
    ]
    return data


def test_waybill_lists_every_vehicle_and_three_slots() -> None:
    rendered = render("waybill", _data())
    whole = "".join(text(rendered.pdf))
    for phrase in ("商品车运输交接单", "运输车辆清单（共2台）", "LFV3A23C0N3000123",
                   "状态：运输中", "状态：已签收", "沪A·K8866挂"):  # fmt: skip
        assert phrase in whole, phrase
    assert [s.role for s in rendered.slots] == ["shipper", "carrier", "dealer"]
    assert rendered.page_count <= 2


def test_waybill_roles_declare_the_milestones_in_order() -> None:
    template = get_template("waybill")
    assert template is not None
    assert template.default_orders() == {"shipper": 1, "carrier": 2, "dealer": 3}
    assert [(r.key, r.milestone.key if r.milestone else None) for r in template.roles] == [
        ("shipper", None),
        ("carrier", "in_transit"),
        ("dealer", "received"),
    ]


def test_waybill_rows_are_checked_one_by_one() -> None:
    data = _data()
    data["vehicles"].append({"vin": "LGXCE6CD9R0123456", "model": "汉"})
    data["vehicles"].append({"vin": "LGXCE6CD1R0123456", "model": ""})
    data["due_date"] = "2026-11-01"
    errors = errors_of("waybill", data)
    assert set(errors) == {"vehicles[3].vin", "vehicles[3].model", "due_date"}
    del data["vehicles"][3]
    errors = errors_of("waybill", data)
    assert "vehicles[2].vin" in errors and "第3行" in errors["vehicles[2].vin"]
    assert "due_date" in errors


def test_waybill_takes_at_most_ten_vehicles() -> None:
    data = _data()
    data["vehicles"] = data["vehicles"] * 6
    assert "vehicles" in errors_of("waybill", data)
