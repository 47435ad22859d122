"""Field-by-field validation of template data, reporting every problem at once.

A template declares its fields as :class:`FieldSpec` rows (dotted paths such as
``vehicle.vin``); :func:`clean_fields` walks them, collects one :class:`FieldError`
per bad field with a Chinese and an English message, and returns JSON-friendly
cleaned data (amounts as ``"189800.00"`` strings, dates as ``"YYYY-MM-DD"``).
Unknown keys are ignored and dropped from the cleaned data, so a client that
sends fields added in a later template version keeps working.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from backend.documents import identifiers
from backend.documents.fonts import can_print

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")  # no DST since 1991


def china_today() -> date:
    return datetime.now(CHINA_TZ).date()


@dataclass(frozen=True)
class FieldError:
    """One bad field: where (dotted path) and what to do, in Chinese and English."""

    path: str
    message: str
    message_en: str


class TemplateDataError(Exception):
    """Template data failed validation; ``errors`` lists every bad field."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__("; ".join(f"{e.path}: {e.message_en}" for e in self.errors))


class Invalid(Exception):
    """Raised by a cleaner; the path is added by :func:`clean_fields`."""

    def __init__(self, message: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message = message
        self.message_en = message_en


class InvalidItems(Exception):
    """Raised by a list cleaner: one error per bad row, paths relative (``[3].vin``)."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__("; ".join(f"{e.path}: {e.message_en}" for e in self.errors))


@dataclass(frozen=True)
class CleanOptions:
    """``today`` is None when re-rendering stored data: dates may be in the past."""

    today: date | None


Cleaner = Callable[[object, CleanOptions], object]


@dataclass(frozen=True)
class FieldSpec:
    path: str
    type: str  # "string" | "number" | "date"
    label: str
    label_en: str
    required: bool
    example: object
    clean: Cleaner = field(repr=False, compare=False)
    max_length: int | None = None
    items: tuple[FieldSpec, ...] = ()  # the columns of one row, for type "array"

    def describe(self) -> dict[str, object]:
        described: dict[str, object] = {
            "path": self.path,
            "type": self.type,
            "required": self.required,
            "label": self.label,
            "label_en": self.label_en,
            "example": self.example,
        }
        if self.max_length is not None:
            described["max_length"] = self.max_length
        if self.items:
            described["items"] = [item.describe() for item in self.items]
        return described


def clean_fields(
    fields: Iterable[FieldSpec], data: object, options: CleanOptions
) -> tuple[dict[str, object], list[FieldError]]:
    """Clean every field; return the cleaned nested dict and every error found."""
    if not isinstance(data, Mapping):
        return {}, [FieldError("", "合同数据应为 JSON 对象", "Template data must be a JSON object")]
    cleaned: dict[str, object] = {}
    errors: list[FieldError] = []
    bad_objects: set[str] = set()
    for spec in fields:
        *parents, leaf = spec.path.split(".")
        node: Mapping[str, object] | None = data
        out = cleaned
        for depth, name in enumerate(parents):
            prefix = ".".join(parents[: depth + 1])
            child = node.get(name) if node is not None else None
            if child is not None and not isinstance(child, Mapping):
                if prefix not in bad_objects:
                    bad_objects.add(prefix)
                    errors.append(
                        FieldError(prefix, f"{prefix} 应为对象", f"{prefix} must be an object")
                    )
                node = None
                break
            node = child
            out = out.setdefault(name, {})  # type: ignore[assignment]
        else:
            raw = node.get(leaf) if node is not None else None
            value: object = None
            if _is_blank(raw):
                if spec.required:
                    errors.append(
                        FieldError(spec.path, f"请填写{spec.label}", f"{spec.label_en} is required")
                    )
            else:
                try:
                    value = spec.clean(raw, options)
                except Invalid as problem:
                    errors.append(FieldError(spec.path, problem.message, problem.message_en))
                except InvalidItems as problem:
                    errors += [
                        FieldError(spec.path + e.path, e.message, e.message_en)
                        for e in problem.errors
                    ]
            out[leaf] = value
    return cleaned, errors


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# --- cleaners -------------------------------------------------------------------------

_MIDDLE_DOTS = str.maketrans(dict.fromkeys("•‧∙⋅・･", "·"))
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def normalize_text(value: str) -> str:
    """NFC, whitespace runs (incl. newlines) collapsed to one space, trimmed."""
    return " ".join(unicodedata.normalize("NFC", value).split())


def clean_text(
    value: object,
    *,
    label: str,
    label_en: str,
    min_length: int = 1,
    max_length: int,
    person_name: bool = False,
) -> str:
    """Printable single-line text; every character must exist in the contract font."""
    if not isinstance(value, str):
        raise Invalid(f"{label}应为文字", f"{label_en} must be text")
    text = normalize_text(value)
    if person_name:
        text = text.translate(_MIDDLE_DOTS)
    if not min_length <= len(text) <= max_length:
        raise Invalid(
            f"{label}应为{min_length}–{max_length}个字（当前{len(text)}个）",
            f"{label_en} must be {min_length}–{max_length} characters (got {len(text)})",
        )
    printable = []
    for char in text:
        form = _printable_form(char)
        if form is None:
            shown = f"U+{ord(char):04X}"
            raise Invalid(
                f"{label}含有无法打印的字符（{shown}），请删除或替换后重试",
                f"{label_en} contains a character that cannot be printed ({shown}); "
                "remove or replace it",
            )
        printable.append(form)
    return "".join(printable)


def _printable_form(char: str) -> str | None:
    """``char``, or its decomposition (ř → r + ˇ) when only the parts have glyphs."""
    if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
        return None
    if can_print(char):
        return char
    parts = unicodedata.normalize("NFD", char)
    if parts != char and all(can_print(part) for part in parts):
        return parts
    return None


def text_cleaner(
    label: str, label_en: str, *, max_length: int, min_length: int = 1, person_name: bool = False
) -> Cleaner:
    def clean(value: object, options: CleanOptions) -> str:
        return clean_text(
            value,
            label=label,
            label_en=label_en,
            min_length=min_length,
            max_length=max_length,
            person_name=person_name,
        )

    return clean


def _compact(value: object, label: str, label_en: str) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{label}应为文字", f"{label_en} must be text")
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", value)).upper()


def clean_mobile(value: object, options: CleanOptions) -> str:
    phone = _compact(value, "手机号", "Mobile number")
    phone = re.sub(r"^(\+86|0086)", "", phone)
    if not re.fullmatch(r"1[3-9]\d{9}", phone):
        raise Invalid(
            "手机号应为11位中国大陆手机号码，以1开头，如 13800138000",
            "Enter an 11-digit mainland China mobile number starting with 1, e.g. 13800138000",
        )
    return phone


def clean_contact_phone(value: object, options: CleanOptions) -> str:
    """A mobile or a landline such as 010-12345678 / 400-800-8888."""
    if not isinstance(value, str):
        raise Invalid("联系电话应为文字", "Phone must be text")
    phone = normalize_text(unicodedata.normalize("NFKC", value))
    if not re.fullmatch(r"\+?[\d\- ()]{5,24}", phone) or sum(c.isdigit() for c in phone) < 5:
        raise Invalid(
            "联系电话格式不正确，请填写手机号或座机号，如 010-12345678",
            "Phone number is not valid; enter a mobile or landline such as 010-12345678",
        )
    return phone


def clean_id_number(value: object, options: CleanOptions) -> str:
    id_number = _compact(value, "身份证号", "ID number")
    if not identifiers.is_id_number_shape(id_number):
        raise Invalid(
            "身份证号应为18位，前17位为数字，最后一位为数字或X",
            "ID number must be 18 characters: 17 digits then a digit or X",
        )
    birth = identifiers.id_number_birth_date(id_number)
    if birth is None or birth.year < 1900 or birth > china_today():
        raise Invalid(
            "身份证号中的出生日期（第7–14位）无效，请核对",
            "The birth date in the ID number (characters 7–14) is not valid; check it",
        )
    if identifiers.id_number_check_char(id_number[:17]) != id_number[17]:
        raise Invalid(
            "身份证号校验位不正确，请逐位核对是否输错",
            "The ID number's check character does not match; check each digit",
        )
    return id_number


def clean_credit_code(value: object, options: CleanOptions) -> str:
    code = _compact(value, "统一社会信用代码", "Unified social credit code")
    if not identifiers.is_credit_code_shape(code):
        raise Invalid(
            "统一社会信用代码应为18位数字或大写字母（不含 I、O、Z、S、V）",
            "The unified social credit code must be 18 digits or capital letters "
            "(no I, O, Z, S, V)",
        )
    if identifiers.credit_code_check_char(code[:17]) != code[17]:
        raise Invalid(
            "统一社会信用代码校验位不正确，请对照营业执照核对",
            "The unified social credit code's check character does not match; "
            "compare it with the business licence",
        )
    return code


def clean_vin(value: object, options: CleanOptions) -> str:
    vin = _compact(value, "车架号(VIN)", "VIN")
    if not identifiers.VIN_PATTERN.fullmatch(vin):
        raise Invalid(
            f"车架号(VIN)应为17位字母或数字，且不含 I、O、Q（当前{len(vin)}位）",
            f"The VIN must be 17 letters or digits without I, O or Q (got {len(vin)})",
        )
    expected = identifiers.vin_check_digit(vin)
    if vin[8] != expected:
        raise Invalid(
            f"车架号(VIN)第9位校验位应为 {expected}，实际为 {vin[8]}，请对照车辆合格证核对",
            f"The VIN check digit (9th character) should be {expected}, not {vin[8]}; "
            "compare it with the certificate of conformity",
        )
    return vin


_MAX_AMOUNT = Decimal(100_000_000)


def parse_amount(value: object, *, label: str, label_en: str, allow_zero: bool) -> Decimal:
    """Yuan with at most 2 decimals from an int, float or string like ``"189,800.00"``."""
    if isinstance(value, bool):
        raise Invalid(f"{label}应为数字", f"{label_en} must be a number")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise Invalid(f"{label}应为数字", f"{label_en} must be a number")
        amount = Decimal(repr(value))
    elif isinstance(value, str | Decimal):
        text = str(value).strip().replace(",", "").replace("，", "")
        if not re.fullmatch(r"\d+(\.\d+)?", text):
            raise Invalid(
                f"{label}应为数字（单位：元），如 189800.00",
                f"{label_en} must be a number of yuan, e.g. 189800.00",
            )
        amount = Decimal(text)
    else:
        raise Invalid(f"{label}应为数字", f"{label_en} must be a number")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise Invalid(f"{label}应大于0", f"{label_en} must be greater than 0")
    if amount > _MAX_AMOUNT:
        raise Invalid(
            f"{label}不能超过1亿元（100,000,000.00）",
            f"{label_en} must not exceed 100,000,000.00 yuan",
        )
    try:
        cents = amount.quantize(Decimal("0.01"))
    except InvalidOperation as error:  # pragma: no cover - bounded above
        raise Invalid(f"{label}应为数字", f"{label_en} must be a number") from error
    if cents != amount:
        raise Invalid(
            f"{label}最多保留2位小数（精确到分）",
            f"{label_en} may have at most 2 decimal places",
        )
    return cents


def amount_cleaner(label: str, label_en: str, *, allow_zero: bool = False) -> Cleaner:
    def clean(value: object, options: CleanOptions) -> str:
        return str(parse_amount(value, label=label, label_en=label_en, allow_zero=allow_zero))

    return clean


def date_cleaner(label: str, label_en: str, *, not_in_past: bool) -> Cleaner:
    def clean(value: object, options: CleanOptions) -> str:
        if isinstance(value, date) and not isinstance(value, datetime):
            day = value
        elif isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            try:
                day = date.fromisoformat(value.strip())
            except ValueError:
                raise Invalid(
                    f"{label}不是有效日期：{value.strip()}",
                    f"{label_en} is not a real date: {value.strip()}",
                ) from None
        else:
            raise Invalid(
                f"{label}格式应为 YYYY-MM-DD，如 2026-12-31",
                f"{label_en} must be formatted YYYY-MM-DD, e.g. 2026-12-31",
            )
        if not_in_past and options.today is not None and day < options.today:
            raise Invalid(
                f"{label}不能早于今天（{options.today.isoformat()}）",
                f"{label_en} must not be before today ({options.today.isoformat()})",
            )
        return day.isoformat()

    return clean


def integer_cleaner(label: str, label_en: str, *, minimum: int, maximum: int) -> Cleaner:
    """A whole number within [minimum, maximum]; "24" is accepted as well as 24."""

    def clean(value: object, options: CleanOptions) -> int:
        text = str(value).strip() if isinstance(value, int | str) else ""
        if isinstance(value, bool) or not re.fullmatch(r"-?\d{1,9}", text):
            raise Invalid(f"{label}应为整数", f"{label_en} must be a whole number")
        number = int(text)
        if not minimum <= number <= maximum:
            raise Invalid(
                f"{label}应在 {minimum}–{maximum} 之间",
                f"{label_en} must be between {minimum} and {maximum}",
            )
        return number

    return clean


def list_cleaner(
    items: tuple[FieldSpec, ...], label: str, label_en: str, *, min_items: int, max_items: int
) -> Cleaner:
    """A list of rows, each cleaned like a small template; every bad cell is reported.

    Errors carry the row in their path (``vehicles[2].vin``) and the row number
    (counting from 1, as a person reads a table) in their message.
    """

    def clean(value: object, options: CleanOptions) -> list[dict[str, object]]:
        if not isinstance(value, list):
            raise Invalid(f"{label}应为列表", f"{label_en} must be a list")
        if not min_items <= len(value) <= max_items:
            raise Invalid(
                f"{label}应有 {min_items}–{max_items} 行（当前 {len(value)} 行）",
                f"{label_en} must have {min_items}–{max_items} rows (got {len(value)})",
            )
        rows: list[dict[str, object]] = []
        errors: list[FieldError] = []
        for index, raw in enumerate(value):
            row, row_errors = clean_fields(items, raw, options)
            rows.append(row)
            for e in row_errors:
                suffix = f".{e.path}" if e.path else ""
                errors.append(
                    FieldError(
                        f"[{index}]{suffix}",
                        f"第{index + 1}行：{e.message}",
                        f"Row {index + 1}: {e.message_en}",
                    )
                )
        if errors:
            raise InvalidItems(errors)
        return rows

    return clean
