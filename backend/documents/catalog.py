"""The contract templates SignLink can render, and what data each one needs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache

from backend.documents import identifiers
from backend.documents.amounts import format_yuan, rmb_uppercase
from backend.documents.validation import (
    CleanOptions,
    FieldError,
    FieldSpec,
    Invalid,
    TemplateDataError,
    amount_cleaner,
    china_today,
    clean_contact_phone,
    clean_credit_code,
    clean_fields,
    clean_id_number,
    clean_mobile,
    clean_vin,
    date_cleaner,
    text_cleaner,
)

CrossCheck = Callable[[Mapping[str, object]], list[FieldError]]
ContextBuilder = Callable[[Mapping[str, object]], dict[str, object]]


@dataclass(frozen=True)
class Milestone:
    """A business status the envelope reaches when one role's signature lands."""

    key: str  # "in_transit"
    label: str  # "运输中"
    label_en: str  # "In transit"


@dataclass(frozen=True)
class RoleSpec:
    """A party who signs: ``key`` is used in field names (``sig_<key>``).

    A template may give a role further boxes (``id="sig-<key>--<slot>"``: a handover page,
    initials on each page); the signer draws and confirms once and every box is signed.

    ``order`` is the default signing group (roles sharing a number sign in parallel;
    0 means "after the roles listed before it"); ``milestone`` is set when this role signs.
    ``seal``: the party is an organisation, so the sender may make this role an internal
    stamping step (its contract office stamps 合同专用章; see ``SignerIn.stamp``).
    """

    key: str
    label: str
    label_en: str
    order: int = 0
    milestone: Milestone | None = None
    seal: bool = False

    def describe(self) -> dict[str, object]:
        described: dict[str, object] = {
            "key": self.key,
            "label": self.label,
            "label_en": self.label_en,
        }
        if self.seal:
            described["seal"] = True
        if self.milestone is not None:
            described["milestone"] = {
                "key": self.milestone.key,
                "label": self.milestone.label,
                "label_en": self.milestone.label_en,
            }
        return described


@dataclass(frozen=True)
class ContractTemplate:
    """A versioned contract: its fields, its signing roles and its HTML template."""

    key: str
    version: int
    title: str
    title_en: str
    roles: tuple[RoleSpec, ...]  # default signing order
    fields: tuple[FieldSpec, ...] = field(repr=False)
    html_template: str = field(repr=False)
    cross_check: CrossCheck = field(repr=False, compare=False)
    build_context: ContextBuilder = field(repr=False, compare=False)
    description: str = ""  # one line for pickers and share cards

    def default_orders(self) -> dict[str, int]:
        """Role → signing group: explicit ``order`` or one group per role in list order."""
        orders: dict[str, int] = {}
        for position, role in enumerate(self.roles, start=1):
            orders[role.key] = role.order or position
        return orders

    def role(self, key: str) -> RoleSpec | None:
        return next((r for r in self.roles if r.key == key), None)

    def example_data(self) -> dict[str, object]:
        """Every field's example, nested: valid input for previews and API docs."""
        data: dict[str, object] = {}
        for spec in self.fields:
            *parents, leaf = spec.path.split(".")
            node = data
            for name in parents:
                node = node.setdefault(name, {})  # type: ignore[assignment]
            node[leaf] = spec.example
        return data

    def validate(
        self, data: Mapping[str, object], *, today: date | None = None
    ) -> dict[str, object]:
        """Cleaned data for a new contract, or :class:`TemplateDataError` listing every bad field.

        ``today`` (China time by default) is the earliest acceptable delivery date.
        """
        return self._clean(data, CleanOptions(today=today or china_today()))

    def clean_stored(self, data: Mapping[str, object]) -> dict[str, object]:
        """Like :meth:`validate` but for data accepted earlier: past dates are fine."""
        return self._clean(data, CleanOptions(today=None))

    def describe_fields(self) -> list[dict[str, object]]:
        """The field list for ``GET /api/v1/templates``."""
        return [spec.describe() for spec in self.fields]

    def describe(self) -> dict[str, object]:
        return {
            "key": self.key,
            "version": self.version,
            "title": self.title,
            "title_en": self.title_en,
            "description": self.description,
            "roles": [{**r.describe(), "order": self.default_orders()[r.key]} for r in self.roles],
            "fields": self.describe_fields(),
        }

    def _clean(self, data: Mapping[str, object], options: CleanOptions) -> dict[str, object]:
        cleaned, errors = clean_fields(self.fields, data, options)
        errors += self.cross_check(cleaned)
        if errors:
            raise TemplateDataError(errors)
        return cleaned


# --- 汽车买卖合同 ---------------------------------------------------------------------


def _text(
    path: str,
    label: str,
    label_en: str,
    example: str,
    *,
    required: bool,
    max_length: int,
    min_length: int = 1,
    person_name: bool = False,
) -> FieldSpec:
    cleaner = text_cleaner(
        label, label_en, min_length=min_length, max_length=max_length, person_name=person_name
    )
    return FieldSpec(path, "string", label, label_en, required, example, cleaner, max_length)


_YES = {"true", "1", "yes", "y", "是", "需要", "附"}
_NO = {"false", "0", "no", "n", "否", "不需要", "不附"}


def _clean_flag(value: object, options: CleanOptions) -> bool:
    """A yes/no choice from JSON (true/false), a CSV cell or a form field (是/否)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _YES or text in _NO:
        return text in _YES
    raise Invalid("请填写“是”或“否”", "Use true or false (是/否)")


_CAR_FIELDS = (
    _text("buyer.name", "买方姓名", "Buyer name", "张三", required=True,
          min_length=2, max_length=30, person_name=True),
    FieldSpec("buyer.id_number", "string", "买方身份证号", "Buyer ID number", False,
              "110101199003071233", clean_id_number, 18),
    FieldSpec("buyer.phone", "string", "买方手机号", "Buyer mobile number", True,
              "13800138000", clean_mobile, 11),
    _text("buyer.address", "买方住址", "Buyer address", "北京市东城区东长安街1号",
          required=False, max_length=60),
    _text("vehicle.model", "品牌型号", "Make and model", "比亚迪 汉 EV 2026款 冠军版",
          required=True, max_length=60),
    FieldSpec("vehicle.vin", "string", "车架号(VIN)", "VIN", True,
              "LC0C76C42R0123456", clean_vin, 17),
    _text("vehicle.colour", "车身颜色", "Colour", "极地白", required=True, max_length=20),
    FieldSpec("price", "number", "车辆总价款（元）", "Total price (yuan)", True,
              189800, amount_cleaner("车辆总价款", "Total price")),
    FieldSpec("deposit", "number", "定金（元）", "Deposit (yuan)", False,
              5000, amount_cleaner("定金", "Deposit", allow_zero=True)),
    FieldSpec("delivery_date", "date", "交车日期", "Delivery date", True,
              "2026-12-31", date_cleaner("交车日期", "Delivery date", not_in_past=True)),
    _text("delivery_place", "交车地点", "Delivery place", "北京市朝阳区示例路88号 演示汽车4S店",
          required=False, max_length=60),
    _text("dealer.name", "卖方名称", "Dealer name", "演示汽车销售服务有限公司",
          required=True, min_length=2, max_length=40),
    _text("dealer.address", "卖方地址", "Dealer address", "北京市朝阳区示例路88号",
          required=False, max_length=60),
    FieldSpec("dealer.credit_code", "string", "统一社会信用代码", "Unified social credit code",
              False, "91350100M000100Y43", clean_credit_code, 18),
    FieldSpec("dealer.phone", "string", "卖方联系电话", "Dealer phone", False,
              "010-12345678", clean_contact_phone, 24),
    FieldSpec("handover_sheet", "boolean", "附车辆交接确认单", "Attach a vehicle handover sheet",
              False, False, _clean_flag),
)  # fmt: skip


def _car_cross_check(cleaned: Mapping[str, object]) -> list[FieldError]:
    price, deposit = cleaned.get("price"), cleaned.get("deposit")
    if isinstance(price, str) and isinstance(deposit, str) and Decimal(deposit) > Decimal(price):
        return [
            FieldError(
                "deposit",
                f"定金不能超过车辆总价款（{format_yuan(price)}）",
                f"The deposit must not exceed the total price ({format_yuan(price)})",
            )
        ]
    return []


def _chinese_date(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.year}年{day.month}月{day.day}日"


def _group(cleaned: Mapping[str, object], name: str) -> Mapping[str, object]:
    value = cleaned.get(name)
    return value if isinstance(value, Mapping) else {}


def _car_context(cleaned: Mapping[str, object]) -> dict[str, object]:
    buyer, vehicle, dealer = (_group(cleaned, n) for n in ("buyer", "vehicle", "dealer"))
    price = Decimal(str(cleaned["price"]))
    deposit = Decimal(str(cleaned["deposit"])) if cleaned.get("deposit") else None
    balance = price - (deposit or 0)
    id_number = buyer.get("id_number")
    return {
        "buyer": {
            "name": buyer["name"],
            "id_number": identifiers.mask_id_number(id_number)
            if isinstance(id_number, str)
            else None,
            "phone": identifiers.mask_phone(str(buyer["phone"])),
            "address": buyer.get("address"),
        },
        "vehicle": dict(vehicle),
        "dealer": dict(dealer),
        "price": {"figures": format_yuan(price), "words": rmb_uppercase(price)},
        "deposit": {"figures": format_yuan(deposit), "words": rmb_uppercase(deposit)}
        if deposit
        else None,
        "balance": {"figures": format_yuan(balance), "words": rmb_uppercase(balance)},
        "deposit_over_limit": bool(deposit and deposit > price * Decimal("0.2")),
        "delivery_date": _chinese_date(str(cleaned["delivery_date"])),
        "delivery_place": cleaned.get("delivery_place") or dealer.get("address"),
        # An annex page both parties sign again at delivery (a second box per role).
        "handover_sheet": cleaned.get("handover_sheet") is True,
        "organisations": {"dealer": dealer["name"]},
    }


CAR_PURCHASE = ContractTemplate(
    key="car-purchase",
    version=1,
    title="汽车买卖合同",
    title_en="Car purchase agreement",
    roles=(RoleSpec("buyer", "买方", "Buyer"), RoleSpec("dealer", "卖方", "Dealer", seal=True)),
    fields=_CAR_FIELDS,
    html_template="car_purchase.html",
    cross_check=_car_cross_check,
    build_context=_car_context,
    description="4S 店整车销售：车辆、价款、交付与三包",
)


@cache
def _registry() -> dict[str, ContractTemplate]:
    # The automotive-chain templates build on the helpers above (imported late: a cycle).
    from backend.documents import chain_templates

    return {t.key: t for t in (CAR_PURCHASE, *chain_templates.TEMPLATES)}


def get_template(key: str) -> ContractTemplate | None:
    return _registry().get(key)


def list_templates() -> list[ContractTemplate]:
    return list(_registry().values())
