"""Field types: bounds beyond the parsers', stored forms, and how answers read back."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from bot.dialog.fields import Field, FieldType, coerce, display, parse_answer
from bot.services import render
from domain.normalize import ParseError

NOW = datetime(2026, 11, 25, 10, 0)


@pytest.mark.parametrize(
    ("field", "text", "reason", "shown"),
    [
        (Field("fund", FieldType.MONEY, "余额", maximum=Decimal(100)), "200", "too_large", "100"),
        (Field("share", FieldType.PERCENT, "比例", minimum=Decimal(1)), "0.5%", "too_small", "1"),
    ],
)
def test_form_bounds_are_enforced_with_the_limit_shown(field: Field, text: str, reason: str, shown: str) -> None:
    with pytest.raises(ParseError) as raised:
        parse_answer(field, text, NOW)
    assert raised.value.reason == reason
    assert shown in render.render(f"input/{reason}.j2", **raised.value.params)


@pytest.mark.parametrize(
    ("field", "text", "stored", "shown"),
    [
        (Field("a", FieldType.MONEY, "金额", unit="wan"), "1.5", "15000.00", "15,000.00 元"),
        (Field("a", FieldType.INTEGER, "人数"), "一万二", 12000, "12,000"),
        (Field("a", FieldType.MONTH, "月份"), "上个月", "2026-10", "2026年10月"),
        (Field("a", FieldType.DATETIME, "时间"), "昨天下午3点", "2026-11-24T15:00", "2026年11月24日 15:00"),
        (Field("a", FieldType.MULTI_CHOICE, "行为", options=("聚集", "堵路")), "2 1", ["聚集", "堵路"], "聚集、堵路"),
        (Field("a", FieldType.YES_NO, "是否"), "没有", False, "否"),
        (Field("a", FieldType.ID_NUMBER, "身份证"), "11010119900307150x", "11010119900307150X", "110101********150X"),
    ],
)
def test_answers_are_stored_json_safe_and_read_back_for_people(
    field: Field, text: str, stored: object, shown: str
) -> None:
    if field.type is FieldType.ID_NUMBER:
        with pytest.raises(ParseError):
            parse_answer(field, text, NOW)
        return
    value = parse_answer(field, text, NOW)
    assert value == stored
    assert display(field, value) == shown


def test_defaults_are_coerced_to_the_fields_stored_form() -> None:
    assert coerce(Field("d", FieldType.MONEY, "经费"), Decimal("240.004")) == "240.00"
    assert coerce(Field("n", FieldType.INTEGER, "人数"), Decimal("12")) == 12
    assert coerce(Field("n", FieldType.INTEGER, "人数"), None) is None
