"""Durations as chairs write them: 3个月, 三个月, 半年, 两周, 10天 (`normalize.parse_duration`)."""

from __future__ import annotations

import contextlib
from typing import Literal

import cn2an
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.services.render import render
from domain.normalize import ParseError, parse_duration

MONTHS = [
    ("3个月", 3),
    ("三个月", 3),
    ("３个月", 3),
    ("半年", 6),
    ("一年", 12),
    ("1年", 12),
    ("一年半", 18),
    ("十二个月", 12),
    ("两个月", 2),
    ("6", 6),
    ("六", 6),
    ("3 个月。", 3),
]
DAYS = [
    ("10天", 10),
    ("十天", 10),
    ("两周", 14),
    ("2周", 14),
    ("一个星期", 7),
    ("3个礼拜", 21),
    ("15日", 15),
    ("30", 30),
]


@pytest.mark.parametrize(("text", "months"), MONTHS)
def test_months(text: str, months: int) -> None:
    assert parse_duration(text, unit="month") == months


@pytest.mark.parametrize(("text", "days"), DAYS)
def test_days(text: str, days: int) -> None:
    assert parse_duration(text, unit="day") == days


@pytest.mark.parametrize(
    ("text", "unit", "reason"),
    [
        ("两周", "month", "duration_in_months"),
        ("10天", "month", "duration_in_months"),
        ("半个月", "month", "duration_in_months"),
        ("三个半月", "month", "duration_in_months"),
        ("3个月", "day", "duration_in_days"),
        ("半年", "day", "duration_in_days"),
        ("很久", "month", "not_a_number"),
        ("", "month", "empty"),
        ("0个月", "month", "too_small"),
        ("-3个月", "month", "negative"),
    ],
)
def test_refused_with_a_reason(text: str, unit: Literal["month", "day"], reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_duration(text, unit=unit)
    assert caught.value.reason == reason
    assert render(f"input/{reason}.j2", **caught.value.params).strip()


@given(st.integers(1, 10**4), st.sampled_from(["个月", "月", ""]), st.booleans())
def test_months_round_trip(count: int, word: str, chinese: bool) -> None:
    numeral = cn2an.an2cn(count) if chinese else str(count)
    assert parse_duration(numeral + word, unit="month") == count


@given(st.integers(1, 10**3), st.booleans())
def test_years_and_weeks_scale(count: int, chinese: bool) -> None:
    numeral = cn2an.an2cn(count) if chinese else str(count)
    assert parse_duration(f"{numeral}年", unit="month") == 12 * count
    assert parse_duration(f"{numeral}年半", unit="month") == 12 * count + 6
    assert parse_duration(f"{numeral}周", unit="day") == 7 * count
    assert parse_duration(f"{numeral}天", unit="day") == count


@given(st.text(max_size=12), st.sampled_from(["month", "day"]))
def test_anything_else_is_a_parse_error(text: str, unit: Literal["month", "day"]) -> None:
    with contextlib.suppress(ParseError):
        assert parse_duration(text, unit=unit) >= 1
