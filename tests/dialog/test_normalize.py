"""Golden tables and properties for the answer parsers, and the check that every error has its template."""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Literal

import cn2an
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services.render import TEMPLATES_DIR, render
from domain import normalize
from domain.normalize import (
    ParseError,
    mask_id_number,
    mask_mobile,
    parse_choice,
    parse_credit_code,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_duration,
    parse_expiry_date,
    parse_id_number,
    parse_integer,
    parse_mobile,
    parse_money,
    parse_month,
    parse_multi_choice,
    parse_percent,
    parse_period,
    parse_text,
    parse_yes_no,
)
from domain.periods import Period

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 15, 0)
OPTIONS = ["工会主席", "副主席", "经审委员", "女职工委员"]
TWELVE = [f"选项{n}" for n in range(1, 13)]
FUZZ = settings(max_examples=200, deadline=None)
NOISE = settings(max_examples=100, deadline=None)
FULL_WIDTH = str.maketrans("0123456789,", "０１２３４５６７８９，")
CHINESE_DIGITS = str.maketrans("0123456789", "〇一二三四五六七八九")
COUNT_UNITS = ["人", "名", "个", "次", "件", "家", "期", "人次", "位", "户", "天"]


def id_check_digit(first17: str) -> str:
    """GB 11643 MOD 11-2, written out independently of stdnum."""
    total = sum(int(digit) * (2 ** (17 - i) % 11) for i, digit in enumerate(first17))
    return "10X98765432"[total % 11]


BAD_BIRTH_ID = "11010519491331002" + id_check_digit("11010519491331002")


# ---------------------------------------------------------------------------------------------------------
# Golden tables: good inputs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        ("１２", 12),
        (" 12 ", 12),
        ("十二", 12),
        ("两千五", 2500),
        ("1,200", 1200),
        ("1，200", 1200),
        ("1,200,000", 1200000),
        ("1.2万", 12000),
        ("一万二", 12000),
        ("12万3千", 123000),
        ("三千万", 30000000),
        ("一点五万", 15000),
        ("一亿零一万", 100010000),
        ("0", 0),
        ("零", 0),
        ("12人", 12),
        ("12 人", 12),
        ("十二个", 12),
        ("3人次", 3),
        ("5家", 5),
        ("2期", 2),
        ("7天", 7),
        ("4户", 4),
        ("②", 2),
        ("12。", 12),
    ],
)
def test_parse_integer(text: str, expected: int) -> None:
    assert parse_integer(text) == expected


def test_parse_integer_within_bounds() -> None:
    assert parse_integer("1", minimum=1, maximum=10) == 1
    assert parse_integer("十", minimum=1, maximum=10) == 10


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.5", Decimal("12.5")),
        ("十二点五", Decimal("12.5")),
        ("1.5万", Decimal("15000")),
        ("1.23456万", Decimal("12345.6")),
        ("０.２５", Decimal("0.25")),
        ("12", Decimal("12")),
        ("1,234.5", Decimal("1234.5")),
        ("3.5天", Decimal("3.5")),
    ],
)
def test_parse_decimal(text: str, expected: Decimal) -> None:
    value = parse_decimal(text)
    assert isinstance(value, Decimal)
    assert value == expected
    assert str(value) == str(expected)


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("1234.56", "yuan", "1234.56"),
        ("1234.5", "yuan", "1234.50"),
        ("3万", "yuan", "30000.00"),
        ("3万", "wan", "30000.00"),
        ("3万元", "wan", "30000.00"),
        ("三万", "yuan", "30000.00"),
        ("三万", "wan", "30000.00"),
        ("1.2", "wan", "12000.00"),
        ("1.2", "yuan", "1.20"),
        ("12万3千", "wan", "123000.00"),
        ("￥1,234.5", "yuan", "1234.50"),
        ("¥ 100", "yuan", "100.00"),
        ("人民币1000元整", "yuan", "1000.00"),
        ("RMB 12块钱", "yuan", "12.00"),
        ("rmb12", "wan", "120000.00"),
        ("50块", "yuan", "50.00"),
        ("两千五百元", "yuan", "2500.00"),
        ("100元", "wan", "100.00"),
        ("0", "yuan", "0.00"),
        ("1.234567", "wan", "12345.67"),
        ("1.5亿", "yuan", "150000000.00"),
    ],
)
def test_parse_money(text: str, unit: Literal["yuan", "wan"], expected: str) -> None:
    value = parse_money(text, unit=unit)
    assert value == Decimal(expected)
    assert str(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2%", "2"),
        ("2％", "2"),
        ("2 %", "2"),
        ("百分之二", "2"),
        ("2", "2"),
        ("2.5%", "2.5"),
        ("百分之二十五点五", "25.5"),
        ("0", "0"),
        ("100%", "100"),
    ],
)
def test_parse_percent(text: str, expected: str) -> None:
    assert parse_percent(text) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("是", True),
        ("是的", True),
        ("对", True),
        ("有", True),
        ("要", True),
        ("好的！", True),
        ("需要", True),
        ("同意", True),
        ("Y", True),
        ("yes", True),
        ("ＹＥＳ", True),
        ("1", True),
        ("嗯", True),
        (" 是 ", True),
        ("否", False),
        ("不是", False),
        ("不", False),
        ("没有", False),
        ("无", False),
        ("不要", False),
        ("不需要", False),
        ("不对", False),
        ("N", False),
        ("no", False),
        ("0", False),
        ("没", False),
    ],
)
def test_parse_yes_no(text: str, expected: bool) -> None:
    assert parse_yes_no(text) is expected


def test_yes_no_lexicons_are_disjoint_and_leave_commands_alone() -> None:
    assert not normalize._YES_WORDS & normalize._NO_WORDS
    for command in ("取消", "退出", "确认", "提交", "跳过", "返回"):
        assert command not in normalize._YES_WORDS | normalize._NO_WORDS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2", 1),
        ("２", 1),
        ("二", 1),
        ("②", 1),
        ("第2个", 1),
        ("第二项", 1),
        ("副主席", 1),
        ("工会主席", 0),
        ("经审", 2),
        ("女职工", 3),
        ("我选工会主席", 0),
        ("2。", 1),
    ],
)
def test_parse_choice(text: str, expected: int) -> None:
    assert parse_choice(text, OPTIONS) == expected


def test_parse_choice_exact_label_wins_over_number() -> None:
    assert parse_choice("3", ["1", "3", "5"]) == 1
    assert parse_choice("12", TWELVE) == 11


def test_parse_choice_negation_is_not_a_mention() -> None:
    assert parse_choice("是", ["是", "否"]) == 0
    with pytest.raises(ParseError):
        parse_choice("不是", ["是", "否"])


@pytest.mark.parametrize(
    ("text", "options", "expected"),
    [
        ("1,3", OPTIONS, [0, 2]),
        ("1，3", OPTIONS, [0, 2]),
        ("1、3", OPTIONS, [0, 2]),
        ("1 3", OPTIONS, [0, 2]),
        ("13", OPTIONS, [0, 2]),
        ("31", OPTIONS, [0, 2]),
        ("3,1,3", OPTIONS, [0, 2]),
        ("副主席、经审", OPTIONS, [1, 2]),
        ("工会主席 女职工委员", OPTIONS, [0, 3]),
        ("一、三", OPTIONS, [0, 2]),
        ("2", OPTIONS, [1]),
        ("12", TWELVE, [11]),
        ("1,12", TWELVE, [0, 11]),
    ],
)
def test_parse_multi_choice(text: str, options: list[str], expected: list[int]) -> None:
    assert parse_multi_choice(text, options) == expected


def test_parse_multi_choice_keeps_a_label_with_a_separator_whole() -> None:
    assert parse_multi_choice("文体, 宣传", ["文体, 宣传", "其他"]) == [0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-06", (2024, 6)),
        ("2024/6", (2024, 6)),
        ("2024.6", (2024, 6)),
        ("202406", (2024, 6)),
        ("2024年6月", (2024, 6)),
        ("2024年06月份", (2024, 6)),
        ("２０２４年６月", (2024, 6)),
        ("2024 年 6 月", (2024, 6)),
        ("二〇二四年六月", (2024, 6)),
        ("24年6月", (2024, 6)),
        ("6月", (2026, 6)),
        ("六月", (2026, 6)),
        ("6月份", (2026, 6)),
        ("11月", (2026, 11)),
        ("12月", (2025, 12)),
        ("十二月", (2025, 12)),
        ("本月", (2026, 11)),
        ("这个月", (2026, 11)),
        ("上个月", (2026, 10)),
        ("上月", (2026, 10)),
        ("上上个月", (2026, 9)),
        ("去年十二月", (2025, 12)),
        ("去年12月", (2025, 12)),
        ("今年3月", (2026, 3)),
    ],
)
def test_parse_month(text: str, expected: tuple[int, int]) -> None:
    assert parse_month(text, today=TODAY) == expected


def test_parse_month_across_new_year() -> None:
    january = date(2027, 1, 10)
    assert parse_month("上个月", today=january) == (2026, 12)
    assert parse_month("上上个月", today=january) == (2026, 11)
    assert parse_month("2月", today=january) == (2026, 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-06-03", date(2024, 6, 3)),
        ("2024/6/3", date(2024, 6, 3)),
        ("2024.6.3", date(2024, 6, 3)),
        ("20240603", date(2024, 6, 3)),
        ("2024年6月3日", date(2024, 6, 3)),
        ("二〇二四年六月三日", date(2024, 6, 3)),
        ("6月3日", date(2026, 6, 3)),
        ("6月3号", date(2026, 6, 3)),
        ("12月1日", date(2025, 12, 1)),
        ("3号", date(2026, 11, 3)),
        ("3日", date(2026, 11, 3)),
        ("25号", date(2026, 11, 25)),
        ("26号", date(2026, 10, 26)),
        ("今天", date(2026, 11, 25)),
        ("昨天", date(2026, 11, 24)),
        ("前天", date(2026, 11, 23)),
        ("大前天", date(2026, 11, 22)),
        ("2024年2月29日", date(2024, 2, 29)),
    ],
)
def test_parse_date(text: str, expected: date) -> None:
    assert parse_date(text, today=TODAY) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-06-03 14:30", datetime(2024, 6, 3, 14, 30)),
        ("2024年6月3日 14点30分", datetime(2024, 6, 3, 14, 30)),
        ("2024年6月3日下午3点", datetime(2024, 6, 3, 15, 0)),
        ("6月3日 上午10点", datetime(2026, 6, 3, 10, 0)),
        ("昨天晚上8点", datetime(2026, 11, 24, 20, 0)),
        ("昨天14:30", datetime(2026, 11, 24, 14, 30)),
        ("14:30", datetime(2026, 11, 25, 14, 30)),
        ("14点30", datetime(2026, 11, 25, 14, 30)),
        ("14点半", datetime(2026, 11, 25, 14, 30)),
        ("十四点三十分", datetime(2026, 11, 25, 14, 30)),
        ("下午3点", datetime(2026, 11, 25, 15, 0)),
        ("下午两点半", datetime(2026, 11, 25, 14, 30)),
        ("中午12点", datetime(2026, 11, 25, 12, 0)),
        ("中午1点", datetime(2026, 11, 25, 13, 0)),
        ("上午10点", datetime(2026, 11, 25, 10, 0)),
        ("早上7点", datetime(2026, 11, 25, 7, 0)),
        ("今天", datetime(2026, 11, 25, 0, 0)),
        ("2024-06-03", datetime(2024, 6, 3, 0, 0)),
        ("15:04", datetime(2026, 11, 25, 15, 4)),
    ],
)
def test_parse_datetime(text: str, expected: datetime) -> None:
    assert parse_datetime(text, now=NOW) == expected


def test_parse_datetime_keeps_the_timezone_of_now() -> None:
    beijing = timezone(timedelta(hours=8))
    value = parse_datetime("下午3点", now=NOW.replace(tzinfo=beijing))
    assert value == datetime(2026, 11, 25, 15, 0, tzinfo=beijing)
    assert value.tzinfo is beijing


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("本月", date(2026, 11, 1), date(2026, 11, 30), "2026年11月"),
        ("上月", date(2026, 10, 1), date(2026, 10, 31), "2026年10月"),
        ("上个月", date(2026, 10, 1), date(2026, 10, 31), "2026年10月"),
        ("2024年6月", date(2024, 6, 1), date(2024, 6, 30), "2024年6月"),
        ("2024-06", date(2024, 6, 1), date(2024, 6, 30), "2024年6月"),
        ("2024年2月", date(2024, 2, 1), date(2024, 2, 29), "2024年2月"),
        ("6月", date(2026, 6, 1), date(2026, 6, 30), "2026年6月"),
        ("11月", date(2026, 11, 1), date(2026, 11, 30), "2026年11月"),
        ("一季度", date(2026, 1, 1), date(2026, 3, 31), "2026年第一季度"),
        ("第一季度", date(2026, 1, 1), date(2026, 3, 31), "2026年第一季度"),
        ("Q1", date(2026, 1, 1), date(2026, 3, 31), "2026年第一季度"),
        ("q2", date(2026, 4, 1), date(2026, 6, 30), "2026年第二季度"),
        ("四季度", date(2026, 10, 1), date(2026, 12, 31), "2026年第四季度"),
        ("2024年一季度", date(2024, 1, 1), date(2024, 3, 31), "2024年第一季度"),
        ("2024Q1", date(2024, 1, 1), date(2024, 3, 31), "2024年第一季度"),
        ("2024年第3季度", date(2024, 7, 1), date(2024, 9, 30), "2024年第三季度"),
        ("上半年", date(2026, 1, 1), date(2026, 6, 30), "2026年上半年"),
        ("下半年", date(2026, 7, 1), date(2026, 12, 31), "2026年下半年"),
        ("2024年上半年", date(2024, 1, 1), date(2024, 6, 30), "2024年上半年"),
        ("2024H1", date(2024, 1, 1), date(2024, 6, 30), "2024年上半年"),
        ("2024年下半年", date(2024, 7, 1), date(2024, 12, 31), "2024年下半年"),
        ("2024h2", date(2024, 7, 1), date(2024, 12, 31), "2024年下半年"),
        ("今年", date(2026, 1, 1), date(2026, 12, 31), "2026年"),
        ("去年", date(2025, 1, 1), date(2025, 12, 31), "2025年"),
        ("2024年", date(2024, 1, 1), date(2024, 12, 31), "2024年"),
        ("2024", date(2024, 1, 1), date(2024, 12, 31), "2024年"),
    ],
)
def test_parse_period(text: str, start: date, end: date, label: str) -> None:
    assert parse_period(text, today=TODAY) == Period(start, end, label)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("下半年", "2025年下半年"),
        ("二季度", "2025年第二季度"),
        ("一季度", "2026年第一季度"),
        ("上半年", "2026年上半年"),
    ],
)
def test_parse_period_that_has_not_started_means_last_year(text: str, label: str) -> None:
    assert parse_period(text, today=date(2026, 3, 1)).label == label


@pytest.mark.parametrize(
    "text",
    ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "+8613812345678", "8613812345678"],
)
def test_parse_mobile(text: str) -> None:
    assert parse_mobile(text) == "13812345678"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11010519491231002X", "11010519491231002X"),
        ("11010519491231002x", "11010519491231002X"),
        ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),
        ("110105 19491231 002X", "11010519491231002X"),
    ],
)
def test_parse_id_number(text: str, expected: str) -> None:
    assert parse_id_number(text) == expected


def test_parse_id_number_accepts_a_region_missing_from_stdnum_table() -> None:
    number = "00000019900307123"
    assert parse_id_number(number + id_check_digit(number)) == number + id_check_digit(number)


@pytest.mark.parametrize("text", ["91110000600037341L", "91110000600037341l", "9111 0000 6000 3734 1L"])
def test_parse_credit_code(text: str) -> None:
    assert parse_credit_code(text) == "91110000600037341L"


def test_mask_id_number() -> None:
    assert mask_id_number("330211199001011234") == "330211********1234"
    with pytest.raises(ValueError):
        mask_id_number("12345")


def test_mask_mobile() -> None:
    assert mask_mobile("13812345678") == "138****5678"
    with pytest.raises(ValueError):
        mask_mobile("12345")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("  组织职工健步走。 ", "组织职工健步走。"), ("１２人参加", "１２人参加"), ("a", "a")],
)
def test_parse_text_keeps_what_was_typed(text: str, expected: str) -> None:
    assert parse_text(text, max_length=20) == expected


# ---------------------------------------------------------------------------------------------------------
# Golden tables: bad inputs, each with the reason it must give

Parser = Callable[..., object]
BAD: list[tuple[Parser, str, dict[str, object], str]] = [
    (parse_integer, "", {}, "empty"),
    (parse_integer, "   ", {}, "empty"),
    (parse_integer, "1.5", {}, "not_integer"),
    (parse_integer, "1.23456万", {}, "not_integer"),
    (parse_integer, "-3", {}, "negative"),
    (parse_integer, "负三", {}, "negative"),
    (parse_integer, "abc", {}, "not_a_number"),
    (parse_integer, "-abc", {}, "not_a_number"),
    (parse_integer, "12,34", {}, "not_a_number"),
    (parse_integer, "1e5", {}, "not_a_number"),
    (parse_integer, "人", {}, "not_a_number"),
    (parse_integer, "0", {"minimum": 1}, "too_small"),
    (parse_integer, "101", {"maximum": 100}, "too_large"),
    (parse_integer, "9" * 20, {}, "too_large"),
    (parse_decimal, "十二点五点", {}, "not_a_number"),
    (parse_decimal, "0.5", {"minimum": Decimal(1)}, "too_small"),
    (parse_decimal, "-0.5", {}, "negative"),
    (parse_money, "", {"unit": "yuan"}, "empty"),
    (parse_money, "12.345", {"unit": "yuan"}, "too_many_decimals"),
    (parse_money, "1.2345678", {"unit": "wan"}, "too_many_decimals"),
    (parse_money, "-5", {"unit": "yuan"}, "negative"),
    (parse_money, "¥-5", {"unit": "yuan"}, "negative"),
    (parse_money, "五元三角", {"unit": "yuan"}, "not_a_number"),
    (parse_money, "元", {"unit": "yuan"}, "not_a_number"),
    (parse_percent, "101%", {}, "too_large"),
    (parse_percent, "-1%", {}, "negative"),
    (parse_percent, "千分之五", {}, "not_a_number"),
    (parse_yes_no, "取消", {}, "not_yes_no"),
    (parse_yes_no, "确认", {}, "not_yes_no"),
    (parse_yes_no, "是？", {}, "not_yes_no"),
    (parse_yes_no, "也许", {}, "not_yes_no"),
    (parse_yes_no, "", {}, "empty"),
    (parse_duration, "两周", {"unit": "month"}, "duration_in_months"),
    (parse_duration, "3个月", {"unit": "day"}, "duration_in_days"),
    (parse_choice, "5", {"options": OPTIONS}, "unknown_choice"),
    (parse_choice, "0", {"options": OPTIONS}, "unknown_choice"),
    (parse_choice, "书记", {"options": OPTIONS}, "unknown_choice"),
    (parse_choice, "主席", {"options": OPTIONS}, "ambiguous_choice"),
    (parse_choice, "委员", {"options": OPTIONS}, "ambiguous_choice"),
    (parse_choice, "不是副主席", {"options": OPTIONS}, "unknown_choice"),
    (parse_multi_choice, "15", {"options": OPTIONS}, "unknown_choice"),
    (parse_multi_choice, "1,书记", {"options": OPTIONS}, "unknown_choice"),
    (parse_multi_choice, "主席、经审", {"options": OPTIONS}, "ambiguous_choice"),
    (parse_multi_choice, "13", {"options": TWELVE}, "unknown_choice"),
    (parse_multi_choice, "、、", {"options": OPTIONS}, "empty"),
    (parse_month, "2027年1月", {"today": TODAY}, "month_in_future"),
    (parse_month, "明年3月", {"today": TODAY}, "month_in_future"),
    (parse_month, "2026-12", {"today": TODAY}, "month_in_future"),
    (parse_month, "2024年13月", {"today": TODAY}, "invalid_month"),
    (parse_month, "0月", {"today": TODAY}, "invalid_month"),
    (parse_month, "下个月", {"today": TODAY}, "unknown_month"),
    (parse_month, "2024", {"today": TODAY}, "unknown_month"),
    (parse_month, "2024-06-03", {"today": TODAY}, "unknown_month"),
    (parse_date, "2月30日", {"today": TODAY}, "invalid_date"),
    (parse_date, "2025年2月29日", {"today": TODAY}, "invalid_date"),
    (parse_date, "2024-13-01", {"today": TODAY}, "invalid_date"),
    (parse_date, "2027-01-01", {"today": TODAY}, "date_in_future"),
    (parse_date, "明天", {"today": TODAY}, "unknown_date"),
    (parse_date, "6月", {"today": TODAY}, "unknown_date"),
    (parse_expiry_date, "6月30日", {"today": TODAY}, "date_needs_year"),
    (parse_datetime, "晚上8点", {"now": NOW}, "datetime_in_future"),
    (parse_datetime, "15:06", {"now": NOW}, "datetime_in_future"),
    (parse_datetime, "25点", {"now": NOW}, "invalid_time"),
    (parse_datetime, "14:61", {"now": NOW}, "invalid_time"),
    (parse_datetime, "2月30日 10点", {"now": NOW}, "invalid_date"),
    (parse_datetime, "2024-06-0314:30", {"now": NOW}, "unknown_datetime"),
    (parse_datetime, "开会的时候", {"now": NOW}, "unknown_datetime"),
    (parse_datetime, "某天 3点", {"now": NOW}, "unknown_datetime"),
    (parse_period, "下个季度", {"today": TODAY}, "unknown_period"),
    (parse_period, "Q5", {"today": TODAY}, "unknown_period"),
    (parse_period, "2027年", {"today": TODAY}, "period_in_future"),
    (parse_period, "2027年1月", {"today": TODAY}, "period_in_future"),
    (parse_period, "2024年13月", {"today": TODAY}, "invalid_month"),
    (parse_mobile, "1381234567", {}, "mobile_wrong_length"),
    (parse_mobile, "138123456789", {}, "mobile_wrong_length"),
    (parse_mobile, "12812345678", {}, "invalid_mobile"),
    (parse_mobile, "138abcd5678", {}, "invalid_mobile"),
    (parse_id_number, "1101051949123100", {}, "id_wrong_length"),
    (parse_id_number, "1101051949123100AX", {}, "id_invalid_format"),
    (parse_id_number, "110105194912310021", {}, "id_bad_checksum"),
    (parse_id_number, BAD_BIRTH_ID, {}, "id_bad_birth_date"),
    (parse_credit_code, "123", {}, "uscc_wrong_length"),
    (parse_credit_code, "A1110000600037341L", {}, "uscc_invalid_format"),
    (parse_credit_code, "91110000600037341A", {}, "uscc_bad_checksum"),
    (parse_text, "", {"max_length": 10}, "too_short"),
    (parse_text, "好", {"max_length": 10, "min_length": 2}, "too_short"),
    (parse_text, "一二三四五六", {"max_length": 5}, "too_long"),
]


def raised(parser: Parser, text: str, kwargs: dict[str, object]) -> ParseError:
    with pytest.raises(ParseError) as info:
        parser(text, **kwargs)
    return info.value


@pytest.mark.parametrize(
    ("parser", "text", "kwargs", "reason"),
    BAD,
    ids=[f"{parser.__name__}-{text}-{reason}" for parser, text, _, reason in BAD],
)
def test_bad_input_gives_its_reason(parser: Parser, text: str, kwargs: dict[str, object], reason: str) -> None:
    assert raised(parser, text, kwargs).reason == reason


def test_bounds_and_example_are_in_params() -> None:
    assert raised(parse_integer, "0", {"minimum": 1}).params == {"limit": 1}
    assert raised(parse_percent, "abc", {}).params == {"text": "abc", "example": "2%"}
    assert raised(parse_integer, "abc人", {}).params["text"] == "abc人"
    assert raised(parse_date, "2月30日", {"today": TODAY}).params == {"year": 2026, "month": 2, "day": 30}


# ---------------------------------------------------------------------------------------------------------
# Every reason has a template, and every template renders with the params it is raised with


def reasons_in_module() -> set[str]:
    tree = ast.parse(Path(normalize.__file__).read_text(encoding="utf-8"))
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "ParseError"
    ]
    reasons = {call.args[0].value for call in calls if isinstance(call.args[0], ast.Constant)}
    assert len(reasons) <= len(calls) and all(isinstance(call.args[0], ast.Constant) for call in calls)
    return {str(reason) for reason in reasons}


def test_every_reason_has_a_template_and_no_template_is_orphaned() -> None:
    templates = {path.stem for path in (TEMPLATES_DIR / "input").glob("*.j2")}
    assert templates == reasons_in_module()


def test_the_bad_table_exercises_every_reason() -> None:
    assert {reason for _, _, _, reason in BAD} == reasons_in_module()


@pytest.mark.parametrize(
    ("parser", "text", "kwargs", "reason"),
    BAD,
    ids=[f"{parser.__name__}-{text}-{reason}" for parser, text, _, reason in BAD],
)
def test_template_renders_with_the_raised_params(
    parser: Parser, text: str, kwargs: dict[str, object], reason: str
) -> None:
    error = raised(parser, text, kwargs)
    message = render(f"input/{error.reason}.j2", **error.params)
    assert message
    assert "None" not in message
    assert any("\u4e00" <= char <= "\u9fff" for char in message)


def test_choice_templates_list_the_options() -> None:
    unknown = raised(parse_choice, "书记", {"options": OPTIONS})
    assert "4. 女职工委员" in render("input/unknown_choice.j2", **unknown.params)
    ambiguous = raised(parse_choice, "委员", {"options": OPTIONS})
    message = render("input/ambiguous_choice.j2", **ambiguous.params)
    assert "3. 经审委员" in message and "4. 女职工委员" in message and "1. 工会主席" not in message


# ---------------------------------------------------------------------------------------------------------
# Properties

INTEGER_FORMS: list[Callable[[int], str]] = [
    str,
    lambda n: str(n).translate(FULL_WIDTH),
    lambda n: f"{n:,}",
    lambda n: f"{n:,}".replace(",", "，"),
    lambda n: f"{n:,}".translate(FULL_WIDTH),
    lambda n: f" {n} ",
]


@FUZZ
@given(st.integers(0, 10**12), st.sampled_from(INTEGER_FORMS), st.sampled_from(["", *COUNT_UNITS]))
def test_integer_round_trips(number: int, form: Callable[[int], str], unit: str) -> None:
    assert parse_integer(form(number) + unit) == number


# Below 一亿 only: cn2an.an2cn(100001000) writes 一亿一千 without the 零, which cn2an then refuses to read.
@FUZZ
@given(st.integers(0, 10**8 - 1), st.sampled_from(["", *COUNT_UNITS]))
def test_chinese_numeral_round_trips(number: int, unit: str) -> None:
    assert parse_integer(cn2an.an2cn(number) + unit) == number


@FUZZ
@given(st.decimals(min_value=0, max_value=10**9, places=2))
def test_yuan_round_trips(amount: Decimal) -> None:
    for text in (str(amount), f"{amount}元", f"¥{amount:,}", f"{amount:,}元", f"人民币{amount}元"):
        assert parse_money(text, unit="yuan") == amount
    assert parse_money(f"{amount}元", unit="wan") == amount


@FUZZ
@given(st.decimals(min_value=0, max_value=10**6, places=2))
def test_wan_means_ten_thousand(amount: Decimal) -> None:
    expected = amount * 10000
    for text in (f"{amount}万", f"{amount}万元"):
        assert parse_money(text, unit="yuan") == expected
        assert parse_money(text, unit="wan") == expected
    assert parse_money(str(amount), unit="wan") == expected
    assert parse_decimal(f"{amount}万") == expected


def month_forms(year: int, month: int, today: date) -> list[str]:
    forms = [
        f"{year}-{month:02d}",
        f"{year}-{month}",
        f"{year}/{month}",
        f"{year}.{month}",
        f"{year}{month:02d}",
        f"{year}年{month}月",
        f"{year}年{month:02d}月份",
        f"{year % 100:02d}年{month}月",
        f"{str(year).translate(CHINESE_DIGITS)}年{cn2an.an2cn(month)}月",
        f"{year}年{month}月".translate(FULL_WIDTH),
    ]
    if year == today.year:
        forms.append(f"今年{month}月")
    if year == today.year - 1:
        forms += [f"去年{month}月", f"去年{cn2an.an2cn(month)}月"]
    back = (today.year - year) * 12 + today.month - month
    if back < 12:
        forms += [f"{month}月", f"{cn2an.an2cn(month)}月", f"{month}月份"]
    forms += {0: ["本月", "这个月"], 1: ["上个月", "上月"], 2: ["上上个月"]}.get(back, [])
    return forms


@st.composite
def past_months(draw: st.DrawFn) -> tuple[date, int, int]:
    today = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
    back = draw(st.integers(0, (today.year - 2000) * 12 + today.month - 1))
    index = today.year * 12 + today.month - 1 - back
    return today, index // 12, index % 12 + 1


@FUZZ
@given(past_months())
def test_month_round_trips(case: tuple[date, int, int]) -> None:
    today, year, month = case
    for text in month_forms(year, month, today):
        assert parse_month(text, today=today) == (year, month), text
        assert parse_period(text, today=today).start == date(year, month, 1), text


@FUZZ
@given(
    st.integers(0, 999999),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    st.integers(0, 999),
    st.booleans(),
)
def test_valid_id_numbers_parse(region: int, birth: date, sequence: int, lower: bool) -> None:
    first17 = f"{region:06d}{birth:%Y%m%d}{sequence:03d}"
    number = first17 + id_check_digit(first17)
    assert parse_id_number(number.lower() if lower else number) == number


@FUZZ
@given(
    st.integers(0, 999999),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    st.integers(0, 999),
    st.sampled_from("0123456789X"),
)
def test_a_wrong_check_digit_fails(region: int, birth: date, sequence: int, check: str) -> None:
    first17 = f"{region:06d}{birth:%Y%m%d}{sequence:03d}"
    if check == id_check_digit(first17):
        check = "0" if check == "X" else "X"
    assert raised(parse_id_number, first17 + check, {}).reason == "id_bad_checksum"


@FUZZ
@given(
    st.integers(13 * 10**9, 2 * 10**10 - 1),
    st.sampled_from(["", "+86", "+86 ", "86", "86-", "+86-", "＋８６ "]),
    st.sets(st.integers(1, 10), max_size=4),
    st.sampled_from([" ", "-", "　", " - "]),
    st.booleans(),
)
def test_mobiles_parse(number: int, prefix: str, gaps: set[int], separator: str, full_width: bool) -> None:
    digits = str(number)
    spaced = "".join((separator if i in gaps else "") + digit for i, digit in enumerate(digits))
    text = prefix + (spaced.translate(FULL_WIDTH) if full_width else spaced)
    assert parse_mobile(text) == digits


# ---------------------------------------------------------------------------------------------------------
# No parser raises anything but ParseError, whatever it is sent

NEAR_MISS = "0123456789.,，、 -+%¥元万亿千百十点负一二两三四五六七八九〇零年月日号点半上下午晚Q季度第个人是不否有没XxH:"
ANY_TEXT = st.text() | st.text(NEAR_MISS, max_size=16)


def only_parse_errors(call: Callable[[], object]) -> None:
    with contextlib.suppress(ParseError):
        call()


@NOISE
@given(ANY_TEXT)
def test_parse_integer_only_raises_parse_error(text: str) -> None:
    only_parse_errors(lambda: parse_integer(text, minimum=0, maximum=10**6))


@NOISE
@given(ANY_TEXT)
def test_parse_decimal_only_raises_parse_error(text: str) -> None:
    only_parse_errors(lambda: parse_decimal(text))


@NOISE
@given(ANY_TEXT, st.sampled_from(["yuan", "wan"]))
def test_parse_money_only_raises_parse_error(text: str, unit: Literal["yuan", "wan"]) -> None:
    only_parse_errors(lambda: parse_money(text, unit=unit))


@NOISE
@given(ANY_TEXT)
def test_parse_percent_only_raises_parse_error(text: str) -> None:
    only_parse_errors(lambda: parse_percent(text))


@NOISE
@given(ANY_TEXT)
def test_parse_yes_no_only_raises_parse_error(text: str) -> None:
    only_parse_errors(lambda: parse_yes_no(text))


@NOISE
@given(ANY_TEXT)
def test_parse_choice_only_raises_parse_error(text: str) -> None:
    only_parse_errors(lambda: parse_choice(text, OPTIONS))


@NOISE
@given(ANY_TEXT, st.sampled_from([OPTIONS, TWELVE]))
def test_parse_multi_choice_only_raises_parse_error(text: str, options: list[str]) -> None:
    only_parse_errors(lambda: parse_multi_choice(text, options))


@NOISE
@given(ANY_TEXT)
def test_parse_month_only_raises_parse_error(text: str) -> None:
    only_parse_errors(lambda: parse_month(text, today=TODAY))


@NOISE
@given(ANY_TEXT)
def test_parse_date_only_raises_parse_error(text: str) -> None:
    only_parse_errors(lambda: parse_date(text, today=TODAY))


@NOISE
@given(ANY_TEXT)
def test_parse_datetime_only_raises_parse_error(text: str) -> None:
    only_parse_errors(lambda: parse_datetime(text, now=NOW))


@NOISE
@given(ANY_TEXT)
def test_parse_period_only_raises_parse_error(text: str) -> None:
    only_parse_errors(lambda: parse_period(text, today=TODAY))


@NOISE
@given(ANY_TEXT)
def test_parse_mobile_only_raises_parse_error(text: str) -> None:
    only_parse_errors(lambda: parse_mobile(text))


@NOISE
@given(ANY_TEXT)
def test_parse_id_number_only_raises_parse_error(text: str) -> None:
    only_parse_errors(lambda: parse_id_number(text))


@NOISE
@given(ANY_TEXT)
def test_parse_credit_code_only_raises_parse_error(text: str) -> None:
    only_parse_errors(lambda: parse_credit_code(text))


@NOISE
@given(ANY_TEXT)
def test_parse_text_only_raises_parse_error(text: str) -> None:
    only_parse_errors(lambda: parse_text(text, max_length=10))
