"""退补差: the price difference owed on each settled vehicle when the price changed.

A manufacturer adjusts its wholesale (settlement) price per model for a price period.
Each vehicle the dealer was invoiced for is matched to the period of its model that
covers its invoice date; the difference between what was invoiced and the period's
price is refunded to the dealer (退, invoiced too much) or owed by the dealer (补,
invoiced too little). Amounts are exact :class:`~decimal.Decimal` yuan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class PricePeriod:
    model: str
    start: date
    end: date
    price: Decimal

    def covers(self, model: str, day: date) -> bool:
        return self.model == model and self.start <= day <= self.end


@dataclass(frozen=True)
class SettlementLine:
    """One invoiced vehicle with the period price it is settled against."""

    row: int  # 1-based, as in the source table
    order_no: str
    vin: str
    model: str
    invoice_date: date
    invoiced: Decimal
    period: PricePeriod
    difference: Decimal  # invoiced - period price: > 0 refund to dealer, < 0 dealer pays


@dataclass(frozen=True)
class PeriodTotal:
    period: PricePeriod
    vehicles: int
    refund: Decimal
    charge: Decimal

    @property
    def net(self) -> Decimal:
        return self.refund - self.charge


@dataclass(frozen=True)
class Settlement:
    lines: tuple[SettlementLine, ...]
    periods: tuple[PeriodTotal, ...]
    refund: Decimal  # 退: total owed to the dealer
    charge: Decimal  # 补: total owed by the dealer

    @property
    def net(self) -> Decimal:
        """Positive: the manufacturer pays the dealer; negative: the dealer pays."""
        return self.refund - self.charge


class UnmatchedRow(ValueError):
    def __init__(self, index: int, model: str, day: date) -> None:
        super().__init__(f"row {index + 1}: no price period for {model} on {day}")
        self.index = index


def overlapping(periods: list[PricePeriod]) -> tuple[int, int] | None:
    """The indexes of two periods of one model that overlap, if any."""
    for i, a in enumerate(periods):
        for j in range(i + 1, len(periods)):
            b = periods[j]
            if a.model == b.model and a.start <= b.end and b.start <= a.end:
                return i, j
    return None


def settle(periods: list[PricePeriod], rows: Iterable[Mapping[str, object]]) -> Settlement:
    """Match every row to its period and total the differences (UnmatchedRow if one has none).

    ``rows`` are cleaned rows: ``order_no``, ``vin``, ``model``, ``invoice_date``
    (ISO date) and ``price`` (yuan as a decimal string).
    """
    lines: list[SettlementLine] = []
    for index, row in enumerate(rows):
        model = str(row["model"])
        day = date.fromisoformat(str(row["invoice_date"]))
        period = next((p for p in periods if p.covers(model, day)), None)
        if period is None:
            raise UnmatchedRow(index, model, day)
        invoiced = Decimal(str(row["price"]))
        lines.append(
            SettlementLine(
                row=index + 1,
                order_no=str(row["order_no"]),
                vin=str(row["vin"]),
                model=model,
                invoice_date=day,
                invoiced=invoiced,
                period=period,
                difference=invoiced - period.price,
            )
        )
    totals = []
    for period in periods:
        mine = [line.difference for line in lines if line.period is period]
        if mine:
            totals.append(
                PeriodTotal(
                    period=period,
                    vehicles=len(mine),
                    refund=sum((d for d in mine if d > 0), Decimal(0)),
                    charge=-sum((d for d in mine if d < 0), Decimal(0)),
                )
            )
    return Settlement(
        lines=tuple(lines),
        periods=tuple(totals),
        refund=sum((t.refund for t in totals), Decimal(0)),
        charge=sum((t.charge for t in totals), Decimal(0)),
    )
