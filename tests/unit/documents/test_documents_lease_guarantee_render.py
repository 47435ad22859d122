from __future__ import annotations

import copy

from chain_support import errors_of, render, text

from backend.documents import get_template


def test_lease_guarantee_renders_parties_and_totals() -> None:
    rendered = render("lease-guarantee")
    whole = "".join(text(rendered.pdf))
    # 4,680.00 × 36 = 168,480.00
    for phrase in ("融资租赁保证合同", "连带责任保证", "¥168,480.00", "壹拾陆万捌仟肆佰捌拾元整",
                   "ZL-2026-000123", "与承租人关系：兄弟"):  # fmt: skip
        assert phrase in whole, phrase
    assert [s.role for s in rendered.slots] == ["lessee", "guarantor", "lessor"]


def test_lessee_and_guarantor_sign_together_then_the_lessor() -> None:
    template = get_template("lease-guarantee")
    assert template is not None
    assert template.default_orders() == {"lessee": 1, "guarantor": 1, "lessor": 2}


def test_the_lessee_cannot_guarantee_their_own_lease() -> None:
    template = get_template("lease-guarantee")
    assert template is not None
    data = copy.deepcopy(template.example_data())
    data["guarantor"]["id_number"] = data["lessee"]["id_number"]  # type: ignore[index]
    assert set(errors_of("lease-guarantee", data)) == {"guarantor.id_number"}
