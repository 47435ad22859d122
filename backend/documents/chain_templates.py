"""Templates along the automotive chain: manufacturer → carrier → dealer → consumer.

试驾协议 (test drive), 物流单 (waybill with carrier acceptance and delivery receipt),
经销商协议 (dealer agreement), 融资租赁担保协议 (lease guarantee) and 退补差协议
(price-difference agreement with a detail table computed from settlement rows).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from backend.documents import identifiers
from backend.documents.amounts import format_yuan, rmb_uppercase
from backend.documents.catalog import (
    ContractTemplate,
    Milestone,
    RoleSpec,
    _chinese_date,
    _group,
    _text,
)
from backend.documents.settlement import PricePeriod, UnmatchedRow, overlapping, settle
from backend.documents.validation import (
    FieldError,
    FieldSpec,
    amount_cleaner,
    clean_contact_phone,
    clean_credit_code,
    clean_id_number,
    clean_mobile,
    clean_vin,
    date_cleaner,
    integer_cleaner,
    list_cleaner,
)

IN_TRANSIT = Milestone("in_transit", "运输中", "In transit")
RECEIVED = Milestone("received", "已签收", "Received")


def _money(value: object) -> dict[str, str]:
    amount = Decimal(str(value))
    return {"figures": format_yuan(amount), "words": rmb_uppercase(amount)}


def _date_order(
    cleaned: Mapping[str, object], first: str, then: str, message: str, message_en: str
) -> list[FieldError]:
    def pick(path: str) -> object:
        node: object = cleaned
        for name in path.split("."):
            node = node.get(name) if isinstance(node, Mapping) else None
        return node

    start, end = pick(first), pick(then)
    if isinstance(start, str) and isinstance(end, str) and end < start:
        return [FieldError(then, message, message_en)]
    return []


def _company(
    prefix: str, label: str, label_en: str, example: str, code: str
) -> tuple[FieldSpec, ...]:
    return (
        _text(f"{prefix}.name", f"{label}名称", f"{label_en} name", example,
              required=True, min_length=2, max_length=40),
        FieldSpec(f"{prefix}.credit_code", "string", f"{label}统一社会信用代码",
                  f"{label_en} unified social credit code", False, code, clean_credit_code, 18),
        _text(f"{prefix}.address", f"{label}地址", f"{label_en} address",
              "上海市嘉定区安亭镇示例路1号", required=False, max_length=60),
    )  # fmt: skip


# --- 试驾协议 -------------------------------------------------------------------------

_TEST_DRIVE_FIELDS = (
    _text("customer.name", "试驾人姓名", "Driver name", "王芳", required=True,
          min_length=2, max_length=30, person_name=True),
    FieldSpec("customer.phone", "string", "试驾人手机号", "Driver mobile", True,
              "13700137000", clean_mobile, 11),
    FieldSpec("customer.licence_number", "string", "驾驶证号", "Driving licence number", True,
              "110105199001011232", clean_id_number, 18),
    _text("customer.licence_class", "准驾车型", "Licence class", "C1", required=True, max_length=8),
    FieldSpec("customer.licence_valid_until", "date", "驾驶证有效期至", "Licence valid until", True,
              "2032-05-01", date_cleaner("驾驶证有效期", "Licence validity", not_in_past=True)),
    _text("vehicle.model", "试驾车型", "Model", "比亚迪 汉 EV 2026款 冠军版",
          required=True, max_length=60),
    _text("vehicle.plate", "试驾车号牌", "Plate", "京A·D12345", required=True, max_length=12),
    FieldSpec("drive.date", "date", "试驾日期", "Test drive date", True, "2026-12-20",
              date_cleaner("试驾日期", "Test drive date", not_in_past=True)),
    _text("drive.time", "试驾时段", "Time slot", "14:00–14:30", required=True, max_length=20),
    _text("drive.route", "试驾路线", "Route", "店内出发—望京街—阜通东大街—返回店内",
          required=True, max_length=80),
    _text("dealer.name", "经销商名称", "Dealer name", "演示汽车销售服务有限公司",
          required=True, min_length=2, max_length=40),
    _text("dealer.address", "经销商地址", "Dealer address", "北京市朝阳区示例路88号",
          required=False, max_length=60),
    FieldSpec("dealer.phone", "string", "经销商电话", "Dealer phone", False,
              "010-12345678", clean_contact_phone, 24),
)  # fmt: skip


def _test_drive_context(cleaned: Mapping[str, object]) -> dict[str, object]:
    customer, vehicle, drive, dealer = (
        _group(cleaned, n) for n in ("customer", "vehicle", "drive", "dealer")
    )
    return {
        "customer": {
            **customer,
            "phone": identifiers.mask_phone(str(customer["phone"])),
            "licence_number": identifiers.mask_id_number(str(customer["licence_number"])),
            "licence_valid_until": _chinese_date(str(customer["licence_valid_until"])),
        },
        "vehicle": dict(vehicle),
        "drive": {**drive, "date": _chinese_date(str(drive["date"]))},
        "dealer": dict(dealer),
        "organisations": {"dealer": dealer["name"]},
    }


def _test_drive_check(cleaned: Mapping[str, object]) -> list[FieldError]:
    return _date_order(
        cleaned,
        "drive.date",
        "customer.licence_valid_until",
        "驾驶证在试驾日已过有效期，请核对驾驶证",
        "The driving licence expires before the test drive date",
    )


TEST_DRIVE = ContractTemplate(
    key="test-drive",
    version=1,
    title="车辆试乘试驾协议",
    title_en="Test drive agreement",
    roles=(
        RoleSpec("customer", "试驾人", "Driver", order=1),
        RoleSpec("dealer", "经销商", "Dealer", order=2, seal=True),
    ),
    fields=_TEST_DRIVE_FIELDS,
    html_template="test_drive.html",
    cross_check=_test_drive_check,
    build_context=_test_drive_context,
    description="到店试驾：驾驶证核验、路线、安全与责任",
)


# --- 物流单 ---------------------------------------------------------------------------

_VEHICLE_ROW = (
    FieldSpec("vin", "string", "车架号(VIN)", "VIN", True, "LGXCE6CD9R0123456", clean_vin, 17),
    _text("model", "车型", "Model", "比亚迪 汉 EV 2026款", required=True, max_length=40),
    _text("colour", "颜色", "Colour", "极地白", required=False, max_length=12),
)

_WAYBILL_FIELDS = (
    _text("waybill_no", "运单号", "Waybill number", "YD20261122001", required=True,
          min_length=4, max_length=24),
    *_company("shipper", "托运方", "Shipper", "示例汽车制造有限公司", "91310000MA1FL0001R"),
    _text("origin", "发运地", "Origin", "上海市嘉定区安亭镇整车物流中心", required=True,
          max_length=60),
    _text("carrier.company", "承运单位", "Carrier", "示例汽车物流有限公司", required=True,
          min_length=2, max_length=40),
    _text("carrier.driver", "驾驶员", "Driver", "赵师傅", required=True, min_length=2,
          max_length=30, person_name=True),
    FieldSpec("carrier.phone", "string", "驾驶员手机号", "Driver mobile", True,
              "13600136000", clean_mobile, 11),
    _text("carrier.truck_plate", "运输车号牌", "Truck plate", "沪A·K8866挂", required=True,
          max_length=14),
    *_company("consignee", "收货经销商", "Receiving dealer", "演示汽车销售服务有限公司",
              "91110105MA00A1B2C9"),
    _text("consignee.contact", "收货联系人", "Receiving contact", "李经理", required=True,
          max_length=30, person_name=True),
    FieldSpec("ship_date", "date", "发运日期", "Ship date", True, "2026-12-01",
              date_cleaner("发运日期", "Ship date", not_in_past=False)),
    FieldSpec("due_date", "date", "约定到达日期", "Due date", True, "2026-12-04",
              date_cleaner("约定到达日期", "Due date", not_in_past=False)),
    FieldSpec("vehicles", "array", "运输车辆", "Vehicles", True,
              [{"vin": "LGXCE6CD9R0123456", "model": "比亚迪 汉 EV 2026款", "colour": "极地白"}],
              list_cleaner(_VEHICLE_ROW, "运输车辆", "Vehicles", min_items=1, max_items=10),
              items=_VEHICLE_ROW),
    FieldSpec("freight", "number", "运费（元）", "Freight (yuan)", False, 3600,
              amount_cleaner("运费", "Freight")),
)  # fmt: skip


def _waybill_check(cleaned: Mapping[str, object]) -> list[FieldError]:
    errors = _date_order(
        cleaned, "ship_date", "due_date", "约定到达日期不能早于发运日期",
        "The due date must not be before the ship date",
    )  # fmt: skip
    vehicles = cleaned.get("vehicles")
    return errors + _repeated_vins("vehicles", vehicles if isinstance(vehicles, list) else [])


def _repeated_vins(field: str, rows: list[Mapping[str, object]]) -> list[FieldError]:
    """One error per row of a list field whose VIN an earlier row already has."""
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        vin = row.get("vin")
        if not isinstance(vin, str):
            continue
        if vin in seen:
            errors.append(
                FieldError(
                    f"{field}[{index}].vin",
                    f"第{index + 1}行：车架号与第{seen[vin] + 1}行重复",
                    f"Row {index + 1}: the VIN repeats row {seen[vin] + 1}",
                )
            )
        else:
            seen[vin] = index
    return errors


def _waybill_context(cleaned: Mapping[str, object]) -> dict[str, object]:
    shipper, carrier, consignee = (_group(cleaned, n) for n in ("shipper", "carrier", "consignee"))
    freight = cleaned.get("freight")
    return {
        "waybill_no": cleaned["waybill_no"],
        "shipper": dict(shipper),
        "origin": cleaned["origin"],
        "carrier": {**carrier, "phone": identifiers.mask_phone(str(carrier["phone"]))},
        "consignee": dict(consignee),
        "ship_date": _chinese_date(str(cleaned["ship_date"])),
        "due_date": _chinese_date(str(cleaned["due_date"])),
        "vehicles": cleaned["vehicles"],
        "freight": _money(freight) if freight else None,
        "organisations": {
            "shipper": shipper["name"],
            "carrier": carrier["company"],
            "dealer": consignee["name"],
        },
    }


WAYBILL = ContractTemplate(
    key="waybill",
    version=1,
    title="商品车运输交接单",
    title_en="Vehicle waybill",
    roles=(
        RoleSpec("shipper", "托运方", "Shipper", order=1, seal=True),
        RoleSpec("carrier", "承运方", "Carrier", order=2, milestone=IN_TRANSIT, seal=True),
        RoleSpec("dealer", "收货方", "Receiving dealer", order=3, milestone=RECEIVED, seal=True),
    ),
    fields=_WAYBILL_FIELDS,
    html_template="waybill.html",
    cross_check=_waybill_check,
    build_context=_waybill_context,
    description="整车物流：发运交接（运输中）与到店签收（已签收）",
)


# --- 经销商协议 -----------------------------------------------------------------------

_DEALER_FIELDS = (
    *_company("manufacturer", "授权方", "Manufacturer", "示例汽车销售有限公司",
              "91310000MA1FL0001R"),
    *_company("dealer", "经销商", "Dealer", "演示汽车销售服务有限公司", "91110105MA00A1B2C9"),
    _text("dealer.legal_rep", "经销商法定代表人", "Dealer legal representative", "陈建国",
          required=True, min_length=2, max_length=30, person_name=True),
    _text("brand", "授权品牌", "Brand", "示例汽车", required=True, max_length=30),
    _text("territory", "授权区域", "Territory", "北京市朝阳区", required=True, max_length=40),
    FieldSpec("term.start", "date", "授权期限起", "Term start", True, "2027-01-01",
              date_cleaner("授权期限起始日", "Term start", not_in_past=False)),
    FieldSpec("term.end", "date", "授权期限止", "Term end", True, "2027-12-31",
              date_cleaner("授权期限终止日", "Term end", not_in_past=False)),
    FieldSpec("annual_target", "integer", "年度销售目标（台）", "Annual target (vehicles)", True,
              1200, integer_cleaner("年度销售目标", "Annual target", minimum=1, maximum=100000)),
    FieldSpec("security_deposit", "number", "经营保证金（元）", "Security deposit (yuan)", True,
              500000, amount_cleaner("经营保证金", "Security deposit")),
)  # fmt: skip


def _dealer_check(cleaned: Mapping[str, object]) -> list[FieldError]:
    return _date_order(
        cleaned, "term.start", "term.end", "授权期限终止日不能早于起始日",
        "The term must not end before it starts",
    )  # fmt: skip


def _dealer_context(cleaned: Mapping[str, object]) -> dict[str, object]:
    manufacturer, dealer, term = (_group(cleaned, n) for n in ("manufacturer", "dealer", "term"))
    return {
        "manufacturer": dict(manufacturer),
        "dealer": dict(dealer),
        "brand": cleaned["brand"],
        "territory": cleaned["territory"],
        "term": {
            "start": _chinese_date(str(term["start"])),
            "end": _chinese_date(str(term["end"])),
        },
        "annual_target": cleaned["annual_target"],
        "security_deposit": _money(cleaned["security_deposit"]),
        "organisations": {"manufacturer": manufacturer["name"], "dealer": dealer["name"]},
    }


DEALER_AGREEMENT = ContractTemplate(
    key="dealer-agreement",
    version=1,
    title="品牌授权经销商协议",
    title_en="Dealer agreement",
    roles=(
        RoleSpec("dealer", "经销商", "Dealer", order=1, seal=True),
        RoleSpec("manufacturer", "授权方", "Manufacturer", order=2, seal=True),
    ),
    fields=_DEALER_FIELDS,
    html_template="dealer_agreement.html",
    cross_check=_dealer_check,
    build_context=_dealer_context,
    description="主机厂授权经销：区域、期限、目标与保证金",
)


# --- 融资租赁担保协议 -----------------------------------------------------------------

_LEASE_FIELDS = (
    *_company("lessor", "出租人", "Lessor", "示例融资租赁有限公司", "91320100MA1MXY2Y3H"),
    _text("lessee.name", "承租人姓名", "Lessee name", "张三", required=True, min_length=2,
          max_length=30, person_name=True),
    FieldSpec("lessee.id_number", "string", "承租人身份证号", "Lessee ID number", True,
              "11010519491231002X", clean_id_number, 18),
    FieldSpec("lessee.phone", "string", "承租人手机号", "Lessee mobile", True,
              "13800138000", clean_mobile, 11),
    _text("guarantor.name", "保证人姓名", "Guarantor name", "张伟", required=True, min_length=2,
          max_length=30, person_name=True),
    FieldSpec("guarantor.id_number", "string", "保证人身份证号", "Guarantor ID number", True,
              "32010619850612003X", clean_id_number, 18),
    FieldSpec("guarantor.phone", "string", "保证人手机号", "Guarantor mobile", True,
              "13500135000", clean_mobile, 11),
    _text("guarantor.relation", "与承租人关系", "Relation to lessee", "兄弟", required=True,
          max_length=10),
    _text("lease.contract_no", "主合同编号", "Lease contract number", "ZL-2026-000123",
          required=True, max_length=30),
    _text("vehicle.model", "租赁车辆", "Vehicle", "比亚迪 汉 EV 2026款 冠军版", required=True,
          max_length=60),
    FieldSpec("vehicle.vin", "string", "车架号(VIN)", "VIN", True, "LGXCE6CD9R0123456",
              clean_vin, 17),
    FieldSpec("lease.amount", "number", "融资金额（元）", "Financed amount (yuan)", True, 150000,
              amount_cleaner("融资金额", "Financed amount")),
    FieldSpec("lease.term_months", "integer", "租赁期限（月）", "Term (months)", True, 36,
              integer_cleaner("租赁期限", "Term", minimum=6, maximum=84)),
    FieldSpec("lease.monthly_rent", "number", "每期租金（元）", "Monthly rent (yuan)", True, 4680,
              amount_cleaner("每期租金", "Monthly rent")),
)  # fmt: skip


def _lease_check(cleaned: Mapping[str, object]) -> list[FieldError]:
    lessee, guarantor = _group(cleaned, "lessee"), _group(cleaned, "guarantor")
    if lessee.get("id_number") and lessee.get("id_number") == guarantor.get("id_number"):
        return [
            FieldError(
                "guarantor.id_number",
                "保证人不能是承租人本人，请填写另一位保证人",
                "The guarantor must be someone other than the lessee",
            )
        ]
    return []


def _lease_context(cleaned: Mapping[str, object]) -> dict[str, object]:
    lessor, lessee, guarantor, lease, vehicle = (
        _group(cleaned, n) for n in ("lessor", "lessee", "guarantor", "lease", "vehicle")
    )
    rent = Decimal(str(lease["monthly_rent"]))
    months = int(str(lease["term_months"]))
    return {
        "lessor": dict(lessor),
        "lessee": {
            "name": lessee["name"],
            "id_number": identifiers.mask_id_number(str(lessee["id_number"])),
            "phone": identifiers.mask_phone(str(lessee["phone"])),
        },
        "guarantor": {
            "name": guarantor["name"],
            "relation": guarantor["relation"],
            "id_number": identifiers.mask_id_number(str(guarantor["id_number"])),
            "phone": identifiers.mask_phone(str(guarantor["phone"])),
        },
        "lease": {
            "contract_no": lease["contract_no"],
            "amount": _money(lease["amount"]),
            "term_months": months,
            "monthly_rent": _money(rent),
            "total_rent": _money(rent * months),
        },
        "vehicle": dict(vehicle),
        "organisations": {"lessor": lessor["name"]},
    }


LEASE_GUARANTEE = ContractTemplate(
    key="lease-guarantee",
    version=1,
    title="融资租赁保证合同",
    title_en="Lease guarantee agreement",
    roles=(
        RoleSpec("lessee", "承租人", "Lessee", order=1),
        RoleSpec("guarantor", "保证人", "Guarantor", order=1),
        RoleSpec("lessor", "出租人", "Lessor", order=2, seal=True),
    ),
    fields=_LEASE_FIELDS,
    html_template="lease_guarantee.html",
    cross_check=_lease_check,
    build_context=_lease_context,
    description="汽车融资租赁：承租人与保证人并行签署，出租人最后盖章",
)


# --- 退补差协议 -----------------------------------------------------------------------

_PERIOD_ROW = (
    _text("model", "车型", "Model", "汉 EV 冠军版", required=True, max_length=40),
    FieldSpec("start", "date", "价格期起", "Period start", True, "2026-10-01",
              date_cleaner("价格期起始日", "Period start", not_in_past=False)),
    FieldSpec("end", "date", "价格期止", "Period end", True, "2026-10-31",
              date_cleaner("价格期终止日", "Period end", not_in_past=False)),
    FieldSpec("price", "number", "结算价（元）", "Settlement price (yuan)", True, 168000,
              amount_cleaner("结算价", "Settlement price")),
)  # fmt: skip

_SETTLEMENT_ROW = (
    _text("order_no", "订单号", "Order number", "PO2026100001", required=True, max_length=24),
    FieldSpec("vin", "string", "车架号(VIN)", "VIN", True, "LGXCE6CD9R0123456", clean_vin, 17),
    _text("model", "车型", "Model", "汉 EV 冠军版", required=True, max_length=40),
    FieldSpec("invoice_date", "date", "开票日期", "Invoice date", True, "2026-10-15",
              date_cleaner("开票日期", "Invoice date", not_in_past=False)),
    FieldSpec("price", "number", "开票价（元）", "Invoiced price (yuan)", True, 172000,
              amount_cleaner("开票价", "Invoiced price")),
)  # fmt: skip

_PRICE_DIFF_FIELDS = (
    *_company("manufacturer", "厂家", "Manufacturer", "示例汽车销售有限公司", "91310000MA1FL0001R"),
    *_company("dealer", "经销商", "Dealer", "演示汽车销售服务有限公司", "91110105MA00A1B2C9"),
    _text("dealer.code", "经销商代码", "Dealer code", "BJ0107", required=True, max_length=16),
    _text("policy", "调价政策", "Price policy", "2026年第四季度终端价格调整", required=True,
          max_length=40),
    FieldSpec("pay_by", "date", "结清日期", "Settle by", True, "2027-01-15",
              date_cleaner("结清日期", "Settle by", not_in_past=False)),
    FieldSpec("periods", "array", "价格期", "Price periods", True,
              [{"model": "汉 EV 冠军版", "start": "2026-10-01", "end": "2026-10-31",
                "price": 168000}],
              list_cleaner(_PERIOD_ROW, "价格期", "Price periods", min_items=1, max_items=50),
              items=_PERIOD_ROW),
    FieldSpec("rows", "array", "结算明细", "Settlement rows", True,
              [{"order_no": "PO2026100001", "vin": "LGXCE6CD9R0123456", "model": "汉 EV 冠军版",
                "invoice_date": "2026-10-15", "price": 172000}],
              list_cleaner(_SETTLEMENT_ROW, "结算明细", "Settlement rows",
                           min_items=1, max_items=2000),
              items=_SETTLEMENT_ROW),
)  # fmt: skip


def _periods(cleaned: Mapping[str, object]) -> list[PricePeriod]:
    raw = cleaned.get("periods")
    return [
        PricePeriod(
            model=str(p["model"]),
            start=date.fromisoformat(str(p["start"])),
            end=date.fromisoformat(str(p["end"])),
            price=Decimal(str(p["price"])),
        )
        for p in (raw if isinstance(raw, list) else [])
    ]


def _price_diff_check(cleaned: Mapping[str, object]) -> list[FieldError]:
    periods, rows = cleaned.get("periods"), cleaned.get("rows")
    if not isinstance(periods, list) or not isinstance(rows, list):
        return []  # already reported field by field
    errors: list[FieldError] = []
    for index, p in enumerate(periods):
        if str(p["end"]) < str(p["start"]):
            errors.append(
                FieldError(
                    f"periods[{index}].end",
                    f"第{index + 1}行：价格期终止日不能早于起始日",
                    f"Row {index + 1}: the period ends before it starts",
                )
            )
    if errors:
        return errors
    clash = overlapping(_periods(cleaned))
    if clash:
        i, j = clash
        return [
            FieldError(
                f"periods[{j}]",
                f"第{j + 1}行与第{i + 1}行是同一车型且日期重叠，请拆分价格期",
                f"Row {j + 1} overlaps row {i + 1} for the same model",
            )
        ]
    periods_ = _periods(cleaned)
    errors += _repeated_vins("rows", rows)
    for index, row in enumerate(rows):
        try:
            settle(periods_, [row])
        except UnmatchedRow:
            errors.append(
                FieldError(
                    f"rows[{index}].invoice_date",
                    f"第{index + 1}行：{row['model']} 在 {row['invoice_date']} 没有对应的价格期",
                    f"Row {index + 1}: no price period for {row['model']} on {row['invoice_date']}",
                )
            )
    return errors


def _signed_money(value: Decimal) -> str:
    return ("-" if value < 0 else "") + format_yuan(abs(value))


def _price_diff_context(cleaned: Mapping[str, object]) -> dict[str, object]:
    manufacturer, dealer = _group(cleaned, "manufacturer"), _group(cleaned, "dealer")
    rows = cleaned["rows"]
    result = settle(_periods(cleaned), rows if isinstance(rows, list) else [])
    net = result.net
    return {
        "manufacturer": dict(manufacturer),
        "dealer": dict(dealer),
        "policy": cleaned["policy"],
        "pay_by": _chinese_date(str(cleaned["pay_by"])),
        "lines": [
            {
                "row": line.row,
                "order_no": line.order_no,
                "vin": line.vin,
                "model": line.model,
                "invoice_date": line.invoice_date.isoformat(),
                "invoiced": format_yuan(line.invoiced),
                "period_price": format_yuan(line.period.price),
                "difference": _signed_money(line.difference),
                "kind": "退" if line.difference > 0 else "补" if line.difference < 0 else "—",
            }
            for line in result.lines
        ],
        "periods": [
            {
                "model": t.period.model,
                "span": f"{t.period.start.isoformat()} 至 {t.period.end.isoformat()}",
                "price": format_yuan(t.period.price),
                "vehicles": t.vehicles,
                "refund": format_yuan(t.refund),
                "charge": format_yuan(t.charge),
                "net": _signed_money(t.net),
            }
            for t in result.periods
        ],
        "vehicles": len(result.lines),
        "refund": _money(result.refund),
        "charge": _money(result.charge),
        "net": _money(abs(net)),
        "net_direction": "refund" if net > 0 else "charge" if net < 0 else "none",
        "organisations": {"manufacturer": manufacturer["name"], "dealer": dealer["name"]},
    }


PRICE_DIFFERENCE = ContractTemplate(
    key="price-difference",
    version=1,
    title="商品车价格退补差协议",
    title_en="Price-difference agreement",
    roles=(
        RoleSpec("dealer", "经销商", "Dealer", order=1, seal=True),
        RoleSpec("manufacturer", "厂家", "Manufacturer", order=2, seal=True),
    ),
    fields=_PRICE_DIFF_FIELDS,
    html_template="price_difference.html",
    cross_check=_price_diff_check,
    build_context=_price_diff_context,
    description="厂家调价：按订单与价格期计算退补差额，附明细表",
)

TEMPLATES = (TEST_DRIVE, WAYBILL, DEALER_AGREEMENT, LEASE_GUARANTEE, PRICE_DIFFERENCE)
