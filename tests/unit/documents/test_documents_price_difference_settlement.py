"""退补差: differences per vehicle, totals per period and overall, the detail table."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from decimal import Decimal

from chain_support import errors_of, render, text

from backend.documents import get_template
from backend.documents.identifiers import vin_check_digit
from backend.documents.settlement import PricePeriod, settle


def vin(n: int) -> str:
    raw = f"LGXCE6CD0R{n:07d}"
    return raw[:8] + vin_check_digit(raw) + raw[9:]


PERIODS = [
    {"model": "汉 EV", "start": "2026-10-01", "end": "2026-10-31", "price": "168000.00"},
    {"model": "汉 EV", "start": "2026-11-01", "end": "2026-11-30", "price": "165500.50"},
    {"model": "秦 PLUS", "start": "2026-10-01", "end": "2026-11-30", "price": "99800"},
]


def rows(count: int) -> list[dict[str, object]]:
    out = []
    for i in range(count):
        model = "秦 PLUS" if i % 3 == 2 else "汉 EV"
        day = date(2026, 10, 1) + timedelta(days=i % 61)
        price = {"汉 EV": Decimal("172000"), "秦 PLUS": Decimal("98000")}[model] + i % 5
        out.append(
            {
                "order_no": f"PO2026{i:05d}",
                "vin": vin(i),
                "model": model,
                "invoice_date": day.isoformat(),
                "price": str(price),
            }
        )
    return out


def data(count: int) -> dict[str, object]:
    template = get_template("price-difference")
    assert template is not None
    d = copy.deepcopy(template.example_data())
    d["periods"] = PERIODS
    d["rows"] = rows(count)
    return d


def test_differences_and_totals_are_exact() -> None:
    periods = [
        PricePeriod(p["model"], date.fromisoformat(p["start"]), date.fromisoformat(p["end"]),
                    Decimal(p["price"]))
        for p in PERIODS
    ]  # fmt: skip
    result = settle(periods, rows(90))
    for line in result.lines:
        assert line.difference == line.invoiced - line.period.price
        assert line.period.covers(line.model, line.invoice_date)
    refund = sum((x.difference for x in result.lines if x.difference > 0), Decimal(0))
    charge = -sum((x.difference for x in result.lines if x.difference < 0), Decimal(0))
    assert (result.refund, result.charge) == (refund, charge)
    assert sum(t.vehicles for t in result.periods) == 90
    assert sum((t.net for t in result.periods), Decimal(0)) == result.net == refund - charge
    # 秦 PLUS was invoiced below its period price: the dealer pays the difference.
    qin = next(t for t in result.periods if t.period.model == "秦 PLUS")
    assert qin.refund == 0 and qin.charge > 0
    # A November 汉 EV invoiced at 172,003 against 165,500.50 → 6,502.50 back.
    november = next(x for x in result.lines if x.order_no == "PO202600033")
    assert november.period.price == Decimal("165500.50")
    assert november.difference == Decimal("172003") - Decimal("165500.50")


def test_long_detail_table_puts_the_signatures_on_the_last_page() -> None:
    rendered = render("price-difference", data(150))
    assert rendered.page_count > 2
    pages = text(rendered.pdf)
    assert {s.page for s in rendered.slots} == {rendered.page_count - 1}
    assert "附件：退补差明细表（共150台）" in "".join(pages)
    assert vin(149) in pages[-1] or vin(149) in pages[-2]
    assert "经销商（盖章）：演示汽车销售服务有限公司" in pages[-1]
    # the header row repeats on every page of the table
    assert all("车架号（VIN）" in p for p in pages[1:-1])


def test_summary_states_who_pays_whom() -> None:
    whole = "".join(text(render("price-difference", data(9)).pdf))
    result = settle(
        [PricePeriod(p["model"], date.fromisoformat(p["start"]), date.fromisoformat(p["end"]),
                     Decimal(p["price"])) for p in PERIODS],
        rows(9),
    )  # fmt: skip
    assert result.net > 0
    assert "乙方应向甲方退还差价合计" in whole
    assert f"¥{result.net:,.2f}" in whole


def test_rows_without_a_price_period_and_overlaps_are_reported() -> None:
    d = data(4)
    d["rows"][1]["invoice_date"] = "2026-12-05"  # type: ignore[index]
    d["rows"][2]["vin"] = d["rows"][0]["vin"]  # type: ignore[index]
    errors = errors_of("price-difference", d)
    assert "rows[1].invoice_date" in errors and "没有对应的价格期" in errors["rows[1].invoice_date"]
    assert "rows[2].vin" in errors
    d = data(4)
    d["periods"].append(  # type: ignore[union-attr]
        {"model": "汉 EV", "start": "2026-10-15", "end": "2026-10-20", "price": 1}
    )
    assert "periods[3]" in errors_of("price-difference", d)
    d = data(4)
    d["rows"][3]["price"] = "12,3.456"  # type: ignore[index]
    assert "rows[3].price" in errors_of("price-difference", d)
