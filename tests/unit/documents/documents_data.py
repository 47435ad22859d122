"""Realistic car purchase data for the documents tests (importable by test modules)."""

from __future__ import annotations

import copy
from datetime import timedelta

from backend.documents.identifiers import id_number_check_char, vin_check_digit
from backend.documents.validation import china_today

DOCUMENT_NUMBER = "SL-20261122-0001"
SIGNERS = {"buyer": "张三", "dealer": "李四"}


def valid_id_number(first17: str = "11010119900307123") -> str:
    return first17 + id_number_check_char(first17)


def valid_vin(without_check: str = "LC0C76C4_R0123456") -> str:
    vin = without_check.replace("_", "0")
    return vin[:8] + vin_check_digit(vin) + vin[9:]


def car_data() -> dict[str, object]:
    return {
        "buyer": {
            "name": "张三",
            "id_number": valid_id_number(),
            "phone": "13800138000",
            "address": "北京市东城区东长安街1号院3号楼2单元501室",
        },
        "vehicle": {
            "model": "比亚迪 汉 EV 2026款 冠军版",
            "vin": valid_vin(),
            "colour": "极地白",
        },
        "price": 189800,
        "deposit": "5000",
        "delivery_date": (china_today() + timedelta(days=30)).isoformat(),
        "delivery_place": "北京市朝阳区示例路88号 演示汽车4S店",
        "dealer": {
            "name": "演示汽车销售服务有限公司",
            "address": "北京市朝阳区示例路88号",
            "credit_code": "91350100M000100Y43",
            "phone": "010-12345678",
        },
    }


def with_changes(data: dict[str, object], **changes: object) -> dict[str, object]:
    """``with_changes(d, **{"vehicle.vin": "X"})`` — a deep copy with dotted paths set
    (a value of ``...`` deletes the key)."""
    changed = copy.deepcopy(data)
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        node = changed
        for name in parents:
            node = node[name]  # type: ignore[assignment]
        if value is ...:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return changed
