from __future__ import annotations

import copy

from chain_support import errors_of, render, text

from backend.documents import get_template


def test_test_drive_renders_in_chinese_with_both_slots() -> None:
    rendered = render("test-drive")
    pages = text(rendered.pdf)
    assert 1 <= rendered.page_count <= 2
    whole = "".join(pages)
    for phrase in ("车辆试乘试驾协议", "王芳", "京A·D12345", "《中华人民共和国道路交通安全法》",
                   "试驾人（签字）：王芳", "演示汽车销售服务有限公司"):  # fmt: skip
        assert phrase in whole, phrase
    assert "110105********1232" in whole and "110105199001011232" not in whole
    assert {s.role for s in rendered.slots} == {"customer", "dealer"}
    assert {s.page for s in rendered.slots} == {rendered.page_count - 1}


def test_licence_expiring_before_the_drive_is_refused() -> None:
    template = get_template("test-drive")
    assert template is not None
    data = copy.deepcopy(template.example_data())
    data["customer"]["licence_valid_until"] = "2026-12-01"  # type: ignore[index]
    data["drive"]["date"] = "2026-12-20"  # type: ignore[index]
    assert "customer.licence_valid_until" in errors_of("test-drive", data)
