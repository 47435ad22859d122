from __future__ import annotations

import copy

from chain_support import errors_of, render, text

from backend.documents import get_template


def test_dealer_agreement_renders_both_companies_and_seal_lines() -> None:
    rendered = render("dealer-agreement")
    whole = "".join(text(rendered.pdf))
    for phrase in ("品牌授权经销商协议", "《汽车销售管理办法》", "1200台", "伍拾万元整",
                   "授权方（盖章）：示例汽车销售有限公司",
                   "经销商（盖章）：演示汽车销售服务有限公司"):  # fmt: skip
        assert phrase in whole, phrase
    assert rendered.page_count == 2
    assert {s.page for s in rendered.slots} == {1}


def test_term_and_target_are_checked() -> None:
    template = get_template("dealer-agreement")
    assert template is not None
    data = copy.deepcopy(template.example_data())
    data["term"] = {"start": "2027-12-31", "end": "2027-01-01"}
    data["annual_target"] = "十台"
    errors = errors_of("dealer-agreement", data)
    assert errors["annual_target"] == "年度销售目标应为整数"
    data["annual_target"] = 10
    assert set(errors_of("dealer-agreement", data)) == {"term.end"}
