"""Field types: how an answer is parsed (or refused), stored as JSON, read back for expressions, and shown.

Answers are stored JSON-safe: Decimals as strings, dates as ISO strings, months as "YYYY-MM", choices by
label. `typed()` turns them back into values the expressions can compute with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from bot.dialog.expressions import Expression
from domain import normalize as n
from domain import timefmt
from domain.periods import Month

Json = Any


class FieldType(StrEnum):
    INTEGER = "integer"
    DECIMAL = "decimal"
    MONEY = "money"
    PERCENT = "percent"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    YES_NO = "yes_no"
    DATE = "date"
    MONTH = "month"
    DATETIME = "datetime"
    DURATION = "duration"  # a length of time, stored as a whole number of `unit`s (months or days)
    TEXT = "text"
    MOBILE = "mobile"
    ID_NUMBER = "id_number"
    CREDIT_CODE = "credit_code"
    ATTACHMENTS = "attachments"
    GROUP = "group"  # a repeated sub-form: a list of records, each asked field by field


@dataclass(frozen=True)
class Field:
    id: str
    type: FieldType
    label: str
    required: bool = True
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    unit: Literal["yuan", "wan", "month", "day"] = "yuan"
    options: tuple[str, ...] = ()
    max_length: int = 500
    min_count: int = 0
    max_count: int = 9
    show_if: Expression | None = None
    default: Expression | None = None
    warn_if: Expression | None = None
    stop_if: Expression | None = None  # an answer that ends the form (e.g. consent refused)
    otherwise: Expression | None = None  # the answer a question stands for while `show_if` hides it
    sensitive: bool = False
    future: bool = False  # a date that may lie ahead (an expiry), given with its year
    fields: tuple[Field, ...] = ()  # the sub-fields of a group


def parse_answer(field: Field, text: str, now: datetime) -> Json:
    """The stored form of a typed answer; raises `normalize.ParseError` with a reason template."""
    today = now.date()
    match field.type:
        case FieldType.INTEGER:
            low = int(field.minimum) if field.minimum is not None else None
            high = int(field.maximum) if field.maximum is not None else None
            return n.parse_integer(text, minimum=low, maximum=high)
        case FieldType.DECIMAL:
            return str(n.parse_decimal(text, minimum=field.minimum, maximum=field.maximum))
        case FieldType.MONEY:
            return str(_bounded(n.parse_money(text, unit="wan" if field.unit == "wan" else "yuan"), field))
        case FieldType.PERCENT:
            return str(_bounded(n.parse_percent(text), field))
        case FieldType.CHOICE:
            return field.options[n.parse_choice(text, field.options)]
        case FieldType.MULTI_CHOICE:
            return [field.options[i] for i in n.parse_multi_choice(text, field.options)]
        case FieldType.YES_NO:
            return n.parse_yes_no(text)
        case FieldType.DATE:
            parse_day = n.parse_expiry_date if field.future else n.parse_date
            return parse_day(text, today=today).isoformat()
        case FieldType.MONTH:
            return n.parse_month(text, today=today).key
        case FieldType.DATETIME:
            return n.parse_datetime(text, now=now).replace(tzinfo=None).isoformat(timespec="minutes")
        case FieldType.DURATION:
            length = n.parse_duration(text, unit="day" if field.unit == "day" else "month")
            return int(_bounded(Decimal(length), field))
        case FieldType.TEXT:
            return n.parse_text(text, max_length=field.max_length)
        case FieldType.MOBILE:
            return n.parse_mobile(text)
        case FieldType.ID_NUMBER:
            return n.parse_id_number(text)
        case FieldType.CREDIT_CODE:
            return n.parse_credit_code(text)
        case FieldType.ATTACHMENTS | FieldType.GROUP:
            raise ValueError(f"{field.type} answers are collected by the engine, not parsed from one message")


def _bounded(value: Decimal, field: Field) -> Decimal:
    if field.minimum is not None and value < field.minimum:
        raise n.ParseError("too_small", limit=field.minimum)
    if field.maximum is not None and value > field.maximum:
        raise n.ParseError("too_large", limit=field.maximum)
    return value


def typed(field: Field, raw: Json) -> Any:
    """A stored answer as a value expressions compute with (Decimal, int, bool, date, list, str)."""
    if raw is None:
        return None
    if field.type is FieldType.GROUP:
        return [{sub.id: typed(sub, item.get(sub.id)) for sub in field.fields} for item in raw]
    if field.type in (FieldType.DECIMAL, FieldType.MONEY, FieldType.PERCENT):
        return Decimal(raw)
    if field.type is FieldType.DATE:
        return date.fromisoformat(raw)
    return raw


def coerce(field: Field, value: Any) -> Json:
    """A computed default in the field's stored form, or None when it cannot be one."""
    if value is None:
        return None
    try:
        if field.type in (FieldType.INTEGER, FieldType.DURATION):
            return int(value)
        if field.type in (FieldType.MONEY,):
            return str(Decimal(value).quantize(Decimal("0.01")))
        if field.type in (FieldType.DECIMAL, FieldType.PERCENT):
            return str(Decimal(value))
    except (ArithmeticError, TypeError, ValueError):
        return None
    return value


def display(field: Field, raw: Json) -> str:
    """How an answer reads back to the user (ID numbers masked)."""
    if raw is None:
        return "（未填）"
    match field.type:
        case FieldType.MONEY:
            return f"{Decimal(raw):,.2f} 元"
        case FieldType.PERCENT:
            return f"{Decimal(raw).normalize():f}%"
        case FieldType.YES_NO:
            return "是" if raw else "否"
        case FieldType.MULTI_CHOICE:
            return "、".join(raw) if raw else "无"
        case FieldType.MONTH:
            return Month.parse_key(raw).label
        case FieldType.DATE:
            return timefmt.chinese_day(date.fromisoformat(raw))
        case FieldType.DATETIME:
            return timefmt.wall_chinese_minute(datetime.fromisoformat(raw))
        case FieldType.ID_NUMBER:
            return n.mask_id_number(raw)
        case FieldType.ATTACHMENTS:
            return f"{len(raw)} 张图片"
        case FieldType.GROUP:
            records = ["，".join(display(sub, item.get(sub.id)) for sub in field.fields) for item in raw]
            return f"{len(raw)} 条：" + "；".join(records) if raw else "无"
        case FieldType.INTEGER:
            return f"{raw:,}" if abs(raw) >= 10000 else str(raw)
        case FieldType.DURATION:
            return f"{raw} 天" if field.unit == "day" else f"{raw} 个月"
    return str(raw)
